"""chalicelib/config.py: secrets named by *_ARN come from Secrets Manager, once per container."""
from __future__ import annotations

import json
from urllib.parse import unquote, urlparse

import boto3
import pytest

from chalicelib import config
from chalicelib.errors import ConfigError


@pytest.fixture
def clean(aws, monkeypatch):
    for name in ("JWT_SECRET", "DATA_KEY", "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER",
                 "DB_PASSWORD", "JWT_SECRET_ARN", "DATA_KEY_ARN", "DB_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    config.secret_string.cache_clear()
    config.settings.cache_clear()
    yield monkeypatch
    config.secret_string.cache_clear()
    config.settings.cache_clear()


def _secret(name: str, value: str) -> str:
    return boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]


def test_keys_and_database_come_from_secrets(clean):
    clean.setenv("JWT_SECRET_ARN", _secret("choovio-iot/dev/jwt-secret", "j" * 64))
    clean.setenv("DATA_KEY_ARN", "choovio-iot/dev/data-key")  # a name works as well as an ARN
    _secret("choovio-iot/dev/data-key", "d" * 64)
    clean.setenv("DB_SECRET_ARN", _secret("choovio-iot/dev/db", json.dumps(
        {"username": "choovio", "password": "p@ss:w/rd%", "host": "db.internal", "port": 5432, "dbname": "x"})))
    clean.setenv("DB_HOST", "proxy.internal")  # the environment wins over the secret's host
    clean.setenv("DB_NAME", "choovio")
    s = config.settings()
    assert s.jwt_secret == "j" * 64 and s.data_key == "d" * 64
    url = urlparse(s.database_url)
    assert (url.hostname, url.port, url.path, url.username) == ("proxy.internal", 5432, "/choovio", "choovio")
    assert unquote(url.password) == "p@ss:w/rd%"


def test_plain_variables_win_and_nothing_is_fetched(clean):
    clean.setenv("JWT_SECRET", "e" * 40)
    clean.setenv("JWT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-abcdef")
    clean.setenv("DATA_KEY", "f" * 40)
    clean.setenv("DATABASE_URL", "postgresql://u@h/db")
    clean.setenv("DB_SECRET_ARN", "missing")
    s = config.settings()
    assert (s.jwt_secret, s.data_key, s.database_url) == ("e" * 40, "f" * 40, "postgresql://u@h/db")


def test_each_secret_is_read_once_per_container(clean):
    clean.setenv("JWT_SECRET_ARN", _secret("a", "a" * 40))
    clean.setenv("DATA_KEY_ARN", _secret("b", "b" * 40))
    config.settings()
    config.settings.cache_clear()  # a new Settings, same container: no new calls
    boto3.client("secretsmanager").put_secret_value(SecretId="a", SecretString="z" * 40)
    assert config.settings().jwt_secret == "a" * 40


def test_an_unreadable_secret_says_what_to_check(clean):
    clean.setenv("JWT_SECRET_ARN", "choovio-iot/dev/nope")
    clean.setenv("DATA_KEY", "f" * 40)
    with pytest.raises(ConfigError, match="IAM policy"):
        config.settings()


def test_a_short_secret_is_refused(clean):
    clean.setenv("JWT_SECRET_ARN", _secret("short", "tiny"))
    clean.setenv("DATA_KEY", "f" * 40)
    with pytest.raises(ConfigError, match="at least 32"):
        config.settings()
