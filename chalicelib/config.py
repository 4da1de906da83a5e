"""Settings read once from the environment.

Secrets (JWT_SECRET, DATA_KEY) have no defaults on purpose: a stage that forgot
them must fail loudly, not sign tokens with a well-known key. The local stack
and the tests generate their own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.errors import ConfigError


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    # RDS-style parts, with local defaults.
    host = os.environ.get("DB_HOST", "127.0.0.1")
    port = os.environ.get("DB_PORT", "5432")
    user = os.environ.get("DB_USER", "postgres")
    password = os.environ.get("DB_PASSWORD", "")
    name = os.environ.get("DB_NAME", "postgres")
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{host}:{port}/{name}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    db_pool_size: int
    jwt_secret: str
    data_key: str
    self_registration: bool
    access_token_ttl: int
    refresh_token_ttl: int
    reset_token_ttl: int
    max_body_bytes: int
    mail_sender: str


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if len(value) < 32:
        raise ConfigError(f"{name} must be set to a random string of at least 32 characters")
    return value


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        database_url=_database_url(),
        db_pool_size=int(os.environ.get("DB_POOL_SIZE", "4")),
        jwt_secret=_required("JWT_SECRET"),
        data_key=_required("DATA_KEY"),
        self_registration=_flag("SELF_REGISTRATION", True),
        access_token_ttl=int(os.environ.get("ACCESS_TOKEN_TTL", "3600")),
        refresh_token_ttl=int(os.environ.get("REFRESH_TOKEN_TTL", "86400")),
        reset_token_ttl=int(os.environ.get("RESET_TOKEN_TTL", "900")),
        max_body_bytes=int(os.environ.get("MAX_BODY_BYTES", str(1024 * 1024))),
        mail_sender=os.environ.get("MAIL_SENDER", "log"),
    )
