"""Fixtures for the API suite: users made without paying argon2 on every sign-up.

Only tests about passwords and login go through POST /users and /users/tokens/issue;
everywhere else a user is inserted with a password hash computed once per session and
gets a token minted with the configured key, which keeps the suite fast.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import psycopg
import pytest

PASSWORD = "a-long-password"


@pytest.fixture(autouse=True)
def _iot_endpoint(monkeypatch):
    """Connection info names the AWS IoT endpoint; unset, the device service would ask AWS, absent here."""
    if not os.environ.get("IOT_ENDPOINT"):
        monkeypatch.setenv("IOT_ENDPOINT", "example-ats.iot.us-east-1.amazonaws.com")


@pytest.fixture(scope="session")
def password_hash() -> str:
    from chalicelib.security import passwords

    return passwords.hash_password(PASSWORD)


@dataclass
class Actor:
    id: str
    email: str
    token: str
    role: str = "user"
    extra: dict = field(default_factory=dict)


@pytest.fixture
def make_user(api, password_hash):
    """make_user("alice", role="admin") -> Actor with a valid access token."""
    from chalicelib.config import settings
    from chalicelib.container import services
    from chalicelib.entities import User
    from chalicelib.security import tokens

    def make(name: str, role: str = "user", **fields) -> Actor:
        email = f"{name}@example.com"
        user = User(id=str(uuid.uuid4()), identity=email, secret_hash=password_hash, name=name, role=role,
                    **fields)
        services().store.save_user(user)
        s = settings()
        token = tokens.issue(s.jwt_secret, user.id, tokens.ACCESS, s.access_token_ttl)
        return Actor(id=user.id, email=email, token=token, role=role)

    return make


@dataclass
class World:
    """Two tenants with one thing and one channel each, an outsider (carol) and an admin."""

    alice: Actor
    bob: Actor
    carol: Actor
    admin: Actor
    thing: dict  # alice's
    channel: dict  # alice's
    bob_thing: dict
    bob_channel: dict
    carol_channel: dict


@pytest.fixture
def world(api, make_user) -> World:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    admin = make_user("root", role="admin")
    thing = api.thing(alice.token, name="alice-secret-sensor", tags=["alice-tag"],
                      metadata={"alice_private": "rosebud"}, credentials={"identity": "alice-dev-identity"})
    channel = api.channel(alice.token, name="alice-secret-room", description="alice-private-desc",
                          metadata={"alice_private": "rosebud"})
    bob_thing = api.thing(bob.token, name="bob-sensor")
    bob_channel = api.channel(bob.token, name="bob-room")
    carol_channel = api.channel(carol.token, name="carol-room")
    return World(alice, bob, carol, admin, thing, channel, bob_thing, bob_channel, carol_channel)


@pytest.fixture
def sql(db):
    """Run SQL against the test database directly (to check what is stored at rest)."""
    def run(statement: str, params=None) -> list[dict]:
        with psycopg.connect(db, autocommit=True) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []

    return run
