"""Persistence: the PostgreSQL store (source of truth) and what wraps it."""
