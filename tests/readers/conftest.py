"""Reader tests: the blueprint on the app, a channel with its owner, and fast users."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

ROUTE = "/channels/{channel_id}/messages"


@pytest.fixture(autouse=True)
def readers_route():
    """Serve GET /channels/{id}/messages even while app.py does not register the blueprint yet.

    Registered once; removed again afterwards only if this fixture added it, so that the
    route-coverage tests elsewhere see the app exactly as app.py builds it.
    """
    from app import app
    from chalicelib.routes.readers import bp

    added = "GET" not in app.routes.get(ROUTE, {})
    if added:
        app.register_blueprint(bp)
    yield
    if added:
        del app.routes[ROUTE]["GET"]


@dataclass
class Person:
    id: str
    token: str


def make_user(role: str = "user", status: str = "enabled") -> Person:
    """A user row and an access token, without password hashing (these tests are about reading)."""
    from chalicelib.config import settings
    from chalicelib.container import services
    from chalicelib.entities import User
    from chalicelib.security import tokens

    user = User(id=str(uuid.uuid4()), identity=f"{uuid.uuid4().hex[:8]}@example.com", secret_hash="-",
                role=role, status=status)
    services().store.save_user(user)
    return Person(user.id, tokens.issue(settings().jwt_secret, user.id, tokens.ACCESS, 3600))


@dataclass
class World:
    owner: Person
    channel: str
    thing: dict  # connected to channel
    publisher: str  # a second publisher id


@pytest.fixture
def world(api) -> World:
    owner = make_user()
    channel = api.channel(owner.token, name="room")
    thing = api.thing(owner.token, name="sensor")
    r = api.call("POST", "/connect", {"thing_id": thing["id"], "channel_id": channel["id"]}, owner.token)
    assert r.status_code == 201, r.json
    return World(owner=owner, channel=channel["id"], thing=thing, publisher=str(uuid.uuid4()))
