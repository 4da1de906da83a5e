"""Who may read a channel's messages: its owner, admins, and things connected to it. Nobody else."""
from __future__ import annotations

import base64
import uuid

import pytest

from tests.readers.conftest import make_user
from tests.readers.helpers import T0, insert, path, senml


@pytest.fixture
def stored(world, db):
    insert(db, [senml(world.channel, world.thing["id"], T0 + i, value=float(i)) for i in range(3)])


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_owner_signed_up_through_the_api_reads(api, db):
    _, token = api.user("alice@example.com")
    channel = api.channel(token)["id"]
    insert(db, [senml(channel, str(uuid.uuid4()), T0, value=1.0)])
    r = api.call("GET", path(channel), token=token)
    assert r.status_code == 200 and r.json["total"] == 1


def test_admin_reads_any_channel(api, world, stored, admin_token):
    r = api.call("GET", path(world.channel), token=admin_token)
    assert r.status_code == 200 and r.json["total"] == 3


@pytest.mark.parametrize("scheme", ["thing", "bare", "basic-empty-user", "basic-thing-id"])
def test_connected_thing_reads_with_its_key(api, world, stored, scheme):
    key = world.thing["credentials"]["secret"]
    header = {"thing": f"Thing {key}", "bare": key, "basic-empty-user": _basic("", key),
              "basic-thing-id": _basic(world.thing["id"], key)}[scheme]
    r = api.call("GET", path(world.channel), headers={"Authorization": header})
    assert r.status_code == 200, r.json
    assert r.json["total"] == 3


def test_other_tenant_gets_404_like_a_missing_channel(api, world, stored):
    mallory = make_user()
    r = api.call("GET", path(world.channel), token=mallory.token)
    missing = api.call("GET", path(str(uuid.uuid4())), token=mallory.token)
    assert r.status_code == missing.status_code == 404
    assert r.json == missing.json
    assert "messages" not in r.json


def test_other_tenants_thing_is_refused_even_when_connected_to_its_own_channel(api, world, stored):
    mallory = make_user()
    own_channel = api.channel(mallory.token)["id"]
    thing = api.thing(mallory.token)
    assert api.call("POST", "/connect", {"thing_id": thing["id"], "channel_id": own_channel},
                    mallory.token).status_code == 201
    key = thing["credentials"]["secret"]
    r = api.call("GET", path(world.channel), headers={"Authorization": f"Thing {key}"})
    assert r.status_code == 403 and "messages" not in r.json
    # ... and reading its own channel shows none of the victim's messages.
    r = api.call("GET", path(own_channel), headers={"Authorization": f"Thing {key}"})
    assert r.status_code == 200 and r.json["total"] == 0


def test_unconnected_thing_of_the_owner_is_refused(api, world, stored):
    other = api.thing(world.owner.token, name="not-connected")
    r = api.call("GET", path(world.channel), headers={"Authorization": f"Thing {other['credentials']['secret']}"})
    assert r.status_code == 403


def test_disconnected_thing_loses_access(api, world, stored):
    key = world.thing["credentials"]["secret"]
    assert api.call("GET", path(world.channel), headers={"Authorization": f"Thing {key}"}).status_code == 200
    api.call("POST", "/disconnect", {"thing_id": world.thing["id"], "channel_id": world.channel}, world.owner.token)
    assert api.call("GET", path(world.channel), headers={"Authorization": f"Thing {key}"}).status_code == 403


def test_thing_connected_elsewhere_cannot_read_this_channel(api, world, stored):
    second = api.channel(world.owner.token, name="second")["id"]
    key = world.thing["credentials"]["secret"]
    thing = api.thing(world.owner.token, name="only-second")
    api.call("POST", "/connect", {"thing_id": thing["id"], "channel_id": second}, world.owner.token)
    r = api.call("GET", path(world.channel), headers={"Authorization": f"Thing {thing['credentials']['secret']}"})
    assert r.status_code == 403
    assert api.call("GET", path(second), headers={"Authorization": f"Thing {key}"}).status_code == 403


def test_disabled_thing_is_401(api, world, stored):
    api.call("POST", f"/things/{world.thing['id']}/disable", token=world.owner.token)
    r = api.call("GET", path(world.channel), headers={"Authorization": f"Thing {world.thing['credentials']['secret']}"})
    assert r.status_code == 401


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer not-a-jwt", "Thing ", "Thing unknown-key-123456",
                                    "Basic !!!", "Digest abc def"])
def test_missing_or_bad_credentials_are_401(api, world, stored, header):
    headers = {} if header is None else {"Authorization": header}
    r = api.call("GET", path(world.channel), headers=headers)
    assert r.status_code == 401, r.json
    assert r.json["error"] and "messages" not in r.json


def test_refresh_token_is_not_an_access_token(api, world, stored):
    from chalicelib.config import settings
    from chalicelib.security import tokens

    refresh = tokens.issue(settings().jwt_secret, world.owner.id, tokens.REFRESH, 3600)
    assert api.call("GET", path(world.channel), token=refresh).status_code == 401


def test_disabled_user_is_401(api, world, stored):
    disabled = make_user(status="disabled")
    assert api.call("GET", path(world.channel), token=disabled.token).status_code == 401
