"""Shared fixtures: a real PostgreSQL (embedded unless DATABASE_URL is set), the app, users."""
from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

import pytest

# Settings are read from the environment on first use: set them before importing the app.
os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
os.environ.setdefault("DATA_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")



@pytest.fixture(scope="session")
def database_url():
    from chalicelib.store.migrate import migrate
    from devstack.postgres import start_postgres

    tmp = Path(tempfile.mkdtemp(prefix="pgtest-"))
    url, server = start_postgres(tmp / "pg")
    os.environ["DATABASE_URL"] = url
    migrate(url)
    yield url
    from chalicelib.container import reset

    reset()
    if server is not None:
        server.cleanup()


@pytest.fixture
def db(database_url):
    """A clean database for each test."""
    import psycopg

    from chalicelib.container import reset

    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
        conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    reset()
    return database_url


class Api:
    """chalice.test.Client with JSON in and out, and a bearer token when given."""

    def __init__(self, client) -> None:
        self.client = client

    def call(self, method: str, path: str, body=None, token: str | None = None, headers=None,
             raw: bytes | str | None = None):
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["Authorization"] = token if " " in token else f"Bearer {token}"
        hdrs.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=hdrs, body=payload)
        response.json = json.loads(response.body) if response.body else None
        return response

    def signup(self, email: str, password: str = "a-long-password", **extra) -> dict:
        r = self.call("POST", "/users", {"name": email.split("@")[0],
                                         "credentials": {"identity": email, "secret": password}, **extra})
        assert r.status_code == 201, r.json
        return r.json

    def login(self, email: str, password: str = "a-long-password") -> str:
        r = self.call("POST", "/users/tokens/issue", {"identity": email, "secret": password})
        assert r.status_code == 201, r.json
        return r.json["access_token"]

    def user(self, email: str) -> tuple[dict, str]:
        return self.signup(email), self.login(email)

    def thing(self, token: str, **fields) -> dict:
        r = self.call("POST", "/things", {"name": "t", **fields}, token)
        assert r.status_code == 201, r.json
        return r.json

    def channel(self, token: str, **fields) -> dict:
        r = self.call("POST", "/channels", {"name": "c", **fields}, token)
        assert r.status_code == 201, r.json
        return r.json


@pytest.fixture
def api(db):
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield Api(client)


@pytest.fixture
def admin_token(api):
    from chalicelib.container import services

    services().users.ensure_admin("root@example.com", "root-password-123")
    return api.login("root@example.com", "root-password-123")
