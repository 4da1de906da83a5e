"""Password hashing, signed tokens and thing keys."""
