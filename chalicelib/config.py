"""Settings read once from the environment.

Secrets (JWT_SECRET, DATA_KEY) have no defaults on purpose: a stage that forgot
them must fail loudly, not sign tokens with a well-known key. The local stack
and the tests generate their own.

In AWS the secrets are not in the environment: JWT_SECRET_ARN, DATA_KEY_ARN and
DB_SECRET_ARN name AWS Secrets Manager secrets (an ARN or a name), read on first
use and kept for the life of the container. A plain variable (JWT_SECRET,
DATA_KEY, DATABASE_URL, DB_PASSWORD, ...) always wins over its secret.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from chalicelib.errors import ConfigError


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@lru_cache(maxsize=None)
def secret_string(secret_id: str) -> str:
    """The current value of a Secrets Manager secret, fetched once per container."""
    import boto3  # deferred: only stages that keep secrets in AWS pay for it

    try:
        return boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as exc:  # noqa: BLE001 - any failure here means the stage is misconfigured
        raise ConfigError(f"cannot read secret {secret_id}: {exc}; check the function's IAM policy "
                          "and that the secret exists in this region") from exc


def _env_or_secret(name: str) -> str:
    """NAME from the environment, else the secret that NAME_ARN points at, else ''."""
    value = os.environ.get(name, "")
    if value:
        return value
    ref = os.environ.get(f"{name}_ARN", "")
    return secret_string(ref) if ref else ""


def _db_secret() -> dict:
    """The JSON credentials secret RDS and Secrets Manager use: username, password[, host, port, dbname]."""
    ref = os.environ.get("DB_SECRET_ARN", "")
    if not ref:
        return {}
    try:
        parsed = json.loads(secret_string(ref))
    except ValueError as exc:
        raise ConfigError(f"secret {ref} must be JSON with username and password") from exc
    return parsed if isinstance(parsed, dict) else {}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    # RDS-style parts, with local defaults; the environment wins over DB_SECRET_ARN's fields.
    secret = {} if os.environ.get("DB_PASSWORD") else _db_secret()
    host = os.environ.get("DB_HOST") or secret.get("host") or "127.0.0.1"
    port = os.environ.get("DB_PORT") or str(secret.get("port") or "5432")
    name = os.environ.get("DB_NAME") or secret.get("dbname") or "postgres"
    if secret:
        user = quote(os.environ.get("DB_USER") or secret.get("username") or "postgres", safe="")
        password = quote(str(secret.get("password", "")), safe="")
    else:
        user = os.environ.get("DB_USER", "postgres")
        password = os.environ.get("DB_PASSWORD", "")
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
    value = _env_or_secret(name)
    if len(value) < 32:
        raise ConfigError(f"{name} (or the secret {name}_ARN names) must be a random string of at least "
                          "32 characters")
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
