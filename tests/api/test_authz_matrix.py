"""Authorization matrix: every route in app.py, for every kind of caller.

For each protected route: (a) no or bad credentials -> 401; (b) another tenant on my ids -> 404 with
nothing of mine in the body and nothing changed; (c) the owner succeeds; (d) an admin succeeds on
anyone's entities and lists everything; (e) non-admins on admin-only routes -> 403.
A coverage test keeps the table in step with app.routes: a new route must be added here.
"""
from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import PASSWORD
from tests.api.helpers import assert_error


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # exactly as in app.routes
    ok: int  # status for an authorized caller
    body: Callable[[Any], Any] | None = None  # valid body, built from the World
    target: str | None = None  # whose entity the path/body names: thing | channel | user | pair | None
    admin_only: bool = False
    thing_key: bool = False  # also accepts `Authorization: Thing <key>` (of a thing with rights there)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, w, thing=None, channel=None, user=None, cert=None) -> str:
        return self.path.format(thing_id=thing or w.thing["id"], channel_id=channel or w.channel["id"],
                                user_id=user or w.alice.id, cert_id=cert or "6d1e0f9c-0000-4000-8000-00000000ce47")


def _pair(w):
    return {"thing_id": w.thing["id"], "channel_id": w.channel["id"]}


ROUTES = [
    # users
    Route("GET", "/users", 200),
    Route("GET", "/users/profile", 200),
    Route("PATCH", "/users/secret", 200, lambda w: {"old_secret": PASSWORD, "new_secret": "another-long-password"}),
    Route("GET", "/users/{user_id}", 200, target="user"),
    Route("PATCH", "/users/{user_id}", 200, lambda w: {"name": "renamed", "metadata": {"k": "v"}}, "user"),
    Route("PATCH", "/users/{user_id}/tags", 200, lambda w: {"tags": ["new-tag"]}, "user"),
    Route("PATCH", "/users/{user_id}/identity", 200, lambda w: {"identity": f"new-{uuid.uuid4().hex[:8]}@example.com"},
          "user"),
    Route("PATCH", "/users/{user_id}/role", 200, lambda w: {"role": "admin"}, "user", admin_only=True),
    Route("POST", "/users/{user_id}/enable", 200, target="user", admin_only=True),
    Route("POST", "/users/{user_id}/disable", 200, target="user", admin_only=True),
    # things
    Route("POST", "/things", 201, lambda w: {"name": "new-thing"}),
    Route("POST", "/things/bulk", 201, lambda w: [{"name": "bulk-a"}, {"name": "bulk-b"}]),
    Route("GET", "/things", 200),
    Route("GET", "/things/{thing_id}", 200, target="thing"),
    Route("PATCH", "/things/{thing_id}", 200, lambda w: {"name": "renamed", "metadata": {"k": "v"}}, "thing"),
    Route("DELETE", "/things/{thing_id}", 204, target="thing"),
    Route("PATCH", "/things/{thing_id}/tags", 200, lambda w: {"tags": ["new-tag"]}, "thing"),
    Route("PATCH", "/things/{thing_id}/secret", 200, lambda w: {"secret": secrets.token_urlsafe(24)}, "thing"),
    Route("POST", "/things/{thing_id}/enable", 200, target="thing"),
    Route("POST", "/things/{thing_id}/disable", 200, target="thing"),
    Route("POST", "/things/{thing_id}/share", 200, lambda w: {"user_ids": [w.carol.id], "relation": "viewer"}, "thing"),
    Route("POST", "/things/{thing_id}/unshare", 200, lambda w: {"user_ids": [w.carol.id]}, "thing"),
    Route("GET", "/things/{thing_id}/channels", 200, target="thing"),
    Route("GET", "/things/{thing_id}/connection", 200, target="thing", thing_key=True),
    # channels
    Route("POST", "/channels", 201, lambda w: {"name": "new-channel"}),
    Route("GET", "/channels", 200),
    Route("GET", "/channels/{channel_id}", 200, target="channel"),
    Route("PUT", "/channels/{channel_id}", 200, lambda w: {"name": "renamed", "description": "d", "metadata": {}},
          "channel"),
    Route("DELETE", "/channels/{channel_id}", 204, target="channel"),
    Route("POST", "/channels/{channel_id}/enable", 200, target="channel"),
    Route("POST", "/channels/{channel_id}/disable", 200, target="channel"),
    Route("GET", "/channels/{channel_id}/things", 200, target="channel"),
    Route("GET", "/channels/{channel_id}/rejections", 200, target="channel"),
    Route("GET", "/channels/{channel_id}/messages", 200, target="channel", thing_key=True),
    # connections
    Route("POST", "/connect", 201, _pair, "pair"),
    Route("POST", "/disconnect", 204, _pair, "pair"),
    Route("POST", "/channels/{channel_id}/things/{thing_id}/connect", 201, target="pair"),
    Route("POST", "/channels/{channel_id}/things/{thing_id}/disconnect", 204, target="pair"),
]

# Routes anyone may call (each is exercised without a token below or in test_tokens.py).
PUBLIC = {
    ("GET", "/health"), ("GET", "/openapi.json"), ("POST", "/users"), ("POST", "/users/tokens/issue"),
    ("POST", "/users/tokens/refresh"), ("POST", "/password/reset-request"), ("PUT", "/password/reset"),
}

# Routes a thing calls with its key (Authorization: Thing <key>): see the publishing tests below.
THING_KEY = {("POST", "/channels/{channel_id}/messages"), ("POST", "/channels/{channel_id}/messages/{subtopic}")}

# Admin-only routes of the DynamoDB backup. Without a backup configured (as in this suite) an admin gets
# 404 "not configured"; tests/messages/test_backup_tools.py covers them with the backup in place.
BACKUP_ADMIN = [("GET", "/admin/backup/health"), ("POST", "/admin/backup/redrive"), ("POST", "/admin/backup/verify")]

# Device certificates: issuing and revoking go to AWS IoT, which this suite does not run, so only who may
# call them is checked here; tests/e2e_mqtt/test_devices_mqtt.py covers them end to end.
DEVICE_ROUTES = [
    Route("POST", "/things/{thing_id}/certificates", 201, target="thing"),
    Route("GET", "/things/{thing_id}/certificates", 200, target="thing"),
    Route("POST", "/things/{thing_id}/certificates/rotate", 201, target="thing"),
    Route("GET", "/things/{thing_id}/certificates/{cert_id}", 200, target="thing"),
    Route("DELETE", "/things/{thing_id}/certificates/{cert_id}", 200, target="thing"),
]

PROTECTED = [r for r in ROUTES]
TARGETED = [r for r in ROUTES if r.target and not r.admin_only]
ADMIN_ONLY = [r for r in ROUTES if r.admin_only]
OWNED = [r for r in ROUTES if not r.admin_only]


def _ids(routes):
    return [r.id for r in routes]


def call(api, route: Route, w, token, **ids):
    body = route.body(w) if route.body else None
    return api.call(route.method, route.url(w, **ids), body, token)


def snapshot(api, w) -> dict:
    """Everything of alice's, read as the admin: a refused call must leave all of it unchanged."""
    t = w.admin.token
    return {
        "thing": api.call("GET", f"/things/{w.thing['id']}", token=t).json,
        "channel": api.call("GET", f"/channels/{w.channel['id']}", token=t).json,
        "user": api.call("GET", f"/users/{w.alice.id}", token=t).json,
        "connected": api.call("GET", f"/channels/{w.channel['id']}/things", token=t).json,
        "thing_channels": api.call("GET", f"/things/{w.thing['id']}/channels", token=t).json,
        "alice_things": api.call("GET", "/things?status=all", token=w.alice.token).json["total"],
        "carol_sees": api.call("GET", "/things?status=all", token=w.carol.token).json["total"],
    }


def secrets_of_alice(w) -> list[str]:
    """Values only alice's entities carry: none may appear in an answer to anyone else."""
    return [w.thing["name"], w.thing["credentials"]["secret"], w.thing["credentials"]["identity"], "rosebud",
            "alice-tag", w.channel["name"], w.channel["description"], w.alice.email]


def assert_no_leak(response, w) -> None:
    text = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
    for value in secrets_of_alice(w):
        assert value not in text, f"{value!r} leaked in {text[:300]}"


# -- the table covers the app ------------------------------------------------------------------

def test_matrix_covers_every_route_in_app():
    from app import app

    served = {(m, p) for p, methods in app.routes.items() for m in methods}
    in_table = {(r.method, r.path) for r in ROUTES}
    assert len(in_table) == len(ROUTES), "a route is listed twice"
    assert not in_table & PUBLIC and not in_table & THING_KEY
    devices = {(r.method, r.path) for r in DEVICE_ROUTES}
    missing = served - in_table - PUBLIC - THING_KEY - set(BACKUP_ADMIN) - devices
    assert not missing, f"routes without an authorization row: {sorted(missing)}"
    stale = (in_table | PUBLIC | THING_KEY | set(BACKUP_ADMIN) | devices) - served
    assert not stale, f"rows for routes the app does not serve: {sorted(stale)}"


# -- (a) no or bad credentials -> 401 -------------------------------------------------------------

def _bad_headers(w) -> dict[str, dict]:
    return {
        "none": {},
        "empty-bearer": {"Authorization": "Bearer "},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "basic": {"Authorization": "Basic " + base64.b64encode(f"{w.alice.email}:{PASSWORD}".encode()).decode()},
        "thing-key": {"Authorization": f"Thing {w.thing['credentials']['secret']}"},
        "bare-token": {"Authorization": w.alice.token},
    }


@pytest.mark.parametrize("route", PROTECTED, ids=_ids(PROTECTED))
def test_a_no_or_bad_credentials_is_401(api, world, route):
    before = snapshot(api, world)
    body = route.body(world) if route.body else None
    for name, headers in _bad_headers(world).items():
        if name == "thing-key" and route.thing_key:
            continue  # a valid key of a thing: see test_thing_keys_reach_only_their_own_thing_and_channels
        r = api.call(route.method, route.url(world), body, headers=headers)
        err = assert_error(r, 401)
        assert_no_leak(r, world)
        assert err["error"], name
    assert snapshot(api, world) == before


# -- (b) another tenant -> 404, never the data, nothing changed ---------------------------------

@pytest.mark.parametrize("route", TARGETED, ids=_ids(TARGETED))
def test_b_other_tenant_gets_404_and_changes_nothing(api, world, route):
    before = snapshot(api, world)
    bob = world.bob
    if route.target == "pair":
        # Connecting needs rights on both ends: bob owns one end, alice the other.
        attempts = [
            dict(thing=world.thing["id"], channel=world.bob_channel["id"]),
            dict(thing=world.bob_thing["id"], channel=world.channel["id"]),
            dict(thing=world.thing["id"], channel=world.channel["id"]),
        ]
        for ids in attempts:
            body = ({"thing_id": ids["thing"], "channel_id": ids["channel"]} if route.body else None)
            r = api.call(route.method, route.url(world, **ids), body, bob.token)
            assert_error(r, 404)
            assert_no_leak(r, world)
    else:
        r = call(api, route, world, bob.token)
        mine = assert_error(r, 404)
        assert_no_leak(r, world)
        # Someone else's entity is indistinguishable from one that does not exist.
        missing = str(uuid.uuid4())
        r2 = call(api, route, world, bob.token, **{route.target: missing})
        assert assert_error(r2, 404) == mine
    assert snapshot(api, world) == before


@pytest.mark.parametrize("path", ["/things", "/channels", "/users"])
def test_b_other_tenant_lists_hold_only_their_own(api, world, path):
    for status in ("enabled", "disabled", "all"):
        r = api.call("GET", f"{path}?status={status}&limit=100", token=world.bob.token)
        assert r.status_code == 200
        assert_no_leak(r, world)
    key = path.strip("/")
    r = api.call("GET", f"{path}?limit=100", token=world.bob.token)
    ids = {i["id"] for i in r.json[key]}
    own = {"/things": {world.bob_thing["id"]}, "/channels": {world.bob_channel["id"]}, "/users": {world.bob.id}}
    assert ids == own[path]
    assert r.json["total"] == 1


def test_b_search_filters_do_not_reach_other_tenants(api, world):
    own = {"/things": world.bob_thing["id"], "/channels": world.bob_channel["id"], "/users": world.bob.id}
    for query in ("name=alice", "metadata=%7B%22alice_private%22%3A%22rosebud%22%7D", "tag=alice-tag",
                  "identity=alice", "name=%25", "name=_"):
        for path, bobs in own.items():
            r = api.call("GET", f"{path}?{query}&status=all&limit=100", token=world.bob.token)
            assert r.status_code == 200, r.json
            assert_no_leak(r, world)
            assert {i["id"] for i in r.json[path.strip("/")]} <= {bobs}


def test_b_creating_with_another_tenants_id_does_not_take_it_over(api, world):
    before = snapshot(api, world)
    r = api.call("POST", "/things", {"id": world.thing["id"], "name": "hijack"}, world.bob.token)
    assert_error(r, 409)
    assert_no_leak(r, world)
    r = api.call("POST", "/channels", {"id": world.channel["id"], "name": "hijack"}, world.bob.token)
    assert_error(r, 409)
    assert_no_leak(r, world)
    r = api.call("POST", "/things/bulk", [{"name": "ok"}, {"id": world.thing["id"]}], world.bob.token)
    assert_error(r, 409)
    assert snapshot(api, world) == before
    # all or nothing: the valid first item of the refused bulk was not created either
    assert api.call("GET", "/things", token=world.bob.token).json["total"] == 1


def test_b_sharing_needs_a_real_user_and_does_not_leak_users(api, world):
    r = api.call("POST", f"/things/{world.thing['id']}/share", {"user_ids": [str(uuid.uuid4())]}, world.alice.token)
    assert_error(r, 404)
    r = api.call("GET", f"/users/{world.alice.id}", token=world.carol.token)
    assert_error(r, 404)


# -- (c) the owner succeeds ------------------------------------------------------------------------

def _assert_effect(api, w, route: Route, r, actor) -> None:
    """Beyond the status: the call did what it says."""
    t = w.admin.token
    if route.ok == 201 or route.ok == 200:
        assert r.json is not None
    key = route.path
    if route.target in ("thing", "channel", "user") and route.ok == 200 and "id" in r.json:
        assert r.json["id"] == {"thing": w.thing["id"], "channel": w.channel["id"], "user": w.alice.id}[route.target]
    if key == "/things/{thing_id}" and route.method == "DELETE":
        assert_error(api.call("GET", f"/things/{w.thing['id']}", token=t), 404)
    elif key == "/channels/{channel_id}" and route.method == "DELETE":
        assert_error(api.call("GET", f"/channels/{w.channel['id']}", token=t), 404)
    elif key.endswith("/disable") and route.target in ("thing", "channel"):
        assert r.json["status"] == "disabled"
    elif key in ("/connect", "/channels/{channel_id}/things/{thing_id}/connect"):
        linked = api.call("GET", f"/channels/{w.channel['id']}/things", token=t).json["things"]
        assert [x["id"] for x in linked] == [w.thing["id"]]
    elif key == "/things/{thing_id}/share":
        assert api.call("GET", f"/things/{w.thing['id']}", token=w.carol.token).status_code == 200
    elif key == "/users/{user_id}/tags" or key == "/things/{thing_id}/tags":
        assert r.json["tags"] == ["new-tag"]
    elif route.method == "PATCH" and key in ("/users/{user_id}", "/things/{thing_id}"):
        assert r.json["name"] == "renamed" and r.json["metadata"] == {"k": "v"}
    elif key == "/users/secret":
        assert api.call("POST", "/users/tokens/issue",
                        {"identity": actor.email, "secret": "another-long-password"}).status_code == 201
    elif key == "/things/{thing_id}/secret":
        assert r.json["credentials"]["secret"] != w.thing["credentials"]["secret"]
    elif key == "/users/{user_id}/role":
        assert r.json["role"] == "admin"
    elif key == "/users/{user_id}/disable":
        assert_error(api.call("GET", "/users/profile", token=w.alice.token), 401)
    elif route.path == "/things/bulk":
        assert [x["name"] for x in r.json["things"]] == ["bulk-a", "bulk-b"]


@pytest.mark.parametrize("route", OWNED, ids=_ids(OWNED))
def test_c_owner_succeeds(api, world, route):
    if route.path.endswith("/disconnect") or route.path.endswith("/unshare"):
        api.call("POST", "/connect", _pair(world), world.alice.token)
        api.call("POST", f"/things/{world.thing['id']}/share", {"user_ids": [world.carol.id]}, world.alice.token)
    r = call(api, route, world, world.alice.token)
    assert r.status_code == route.ok, (r.status_code, r.json)
    _assert_effect(api, world, route, r, world.alice)
    if route.path.endswith("/disconnect"):
        assert api.call("GET", f"/channels/{world.channel['id']}/things", token=world.alice.token).json["total"] == 0
    if route.path.endswith("/unshare"):
        assert_error(api.call("GET", f"/things/{world.thing['id']}", token=world.carol.token), 404)


# -- (d) the admin sees and changes everything -----------------------------------------------------

@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_d_admin_succeeds_on_anyones_entities(api, world, route):
    if route.path == "/users/secret":
        pytest.skip("changes the caller's own password: covered for the owner")
    r = call(api, route, world, world.admin.token)
    assert r.status_code == route.ok, (r.status_code, r.json)
    _assert_effect(api, world, route, r, world.admin)


@pytest.mark.parametrize("path", ["/things", "/channels", "/users"])
def test_d_admin_lists_everything(api, world, path):
    r = api.call("GET", f"{path}?limit=100", token=world.admin.token)
    assert r.status_code == 200
    ids = {i["id"] for i in r.json[path.strip("/")]}
    expected = {
        "/things": {world.thing["id"], world.bob_thing["id"]},
        "/channels": {world.channel["id"], world.bob_channel["id"], world.carol_channel["id"]},
        "/users": {world.alice.id, world.bob.id, world.carol.id, world.admin.id},
    }[path]
    assert ids == expected and r.json["total"] == len(expected)


def test_d_admin_can_connect_anyones_thing_and_channel(api, world):
    r = api.call("POST", "/connect", {"thing_id": world.bob_thing["id"], "channel_id": world.channel["id"]},
                 world.admin.token)
    assert r.status_code == 201
    r = api.call("GET", f"/channels/{world.channel['id']}/things", token=world.alice.token)
    # alice sees that the channel is connected only to what she may see: bob's thing is not hers
    assert r.json["things"] == []
    r = api.call("GET", f"/channels/{world.channel['id']}/things", token=world.admin.token)
    assert [t["id"] for t in r.json["things"]] == [world.bob_thing["id"]]


# -- (e) non-admins on admin-only routes -> 403 ----------------------------------------------------

@pytest.mark.parametrize("route", ADMIN_ONLY, ids=_ids(ADMIN_ONLY))
def test_e_non_admin_on_admin_only_routes_is_403(api, world, route):
    before = snapshot(api, world)
    for user in (world.alice.id, world.bob.id):  # on themselves and on someone else
        assert_error(call(api, route, world, world.alice.token, user=user), 403)
    after = snapshot(api, world)
    assert after == before
    assert after["user"]["role"] == "user" and after["user"]["status"] == "enabled"
    assert api.call("GET", f"/users/{world.bob.id}", token=world.admin.token).json["role"] == "user"


@pytest.mark.parametrize("method,path", BACKUP_ADMIN, ids=[p for _, p in BACKUP_ADMIN])
def test_backup_admin_routes(api, world, method, path):
    for headers in _bad_headers(world).values():
        assert_error(api.call(method, path, headers=headers), 401)
    for user in (world.alice, world.bob):
        assert_error(api.call(method, path, token=user.token), 403)
    body = assert_error(api.call(method, path, token=world.admin.token), 404)
    assert "not configured" in body["message"]


def test_e_admin_cannot_disable_themselves(api, world):
    assert_error(api.call("POST", f"/users/{world.admin.id}/disable", token=world.admin.token), 400)
    assert api.call("GET", "/users/profile", token=world.admin.token).status_code == 200


def test_e_promoted_user_gains_admin_rights_and_demoted_loses_them(api, world):
    r = api.call("PATCH", f"/users/{world.alice.id}/role", {"role": "admin"}, world.admin.token)
    assert r.status_code == 200 and r.json["role"] == "admin"
    assert api.call("GET", f"/things/{world.bob_thing['id']}", token=world.alice.token).status_code == 200
    api.call("PATCH", f"/users/{world.alice.id}/role", {"role": "user"}, world.admin.token)
    assert_error(api.call("GET", f"/things/{world.bob_thing['id']}", token=world.alice.token), 404)


def test_e_no_self_promotion_through_profile_or_signup(api, world):
    r = api.call("PATCH", f"/users/{world.alice.id}", {"name": "x", "role": "admin"}, world.alice.token)
    assert r.status_code == 200 and r.json["role"] == "user"
    r = api.call("POST", "/users", {"credentials": {"identity": "eve@example.com", "secret": PASSWORD},
                                    "role": "admin"})
    assert r.status_code == 201 and r.json["role"] == "user"


# -- public routes -------------------------------------------------------------------------------

def test_public_routes_answer_without_a_token(api, world):
    assert api.call("GET", "/health").json["status"] == "pass"
    assert api.call("GET", "/openapi.json").status_code == 200
    assert_error(api.call("POST", "/users/tokens/issue", {"identity": world.alice.email, "secret": "wrong-pass"}), 401)
    assert_error(api.call("POST", "/users/tokens/refresh"), 401)
    assert api.call("POST", "/password/reset-request", {"email": "nobody@example.com"}).status_code == 201
    assert_error(api.call("PUT", "/password/reset", {"token": "x", "password": PASSWORD,
                                                     "confirm_password": PASSWORD}), 401)


def test_self_registration_can_be_switched_off(api, world, monkeypatch):
    from chalicelib.container import reset

    from chalicelib.config import settings

    monkeypatch.setenv("SELF_REGISTRATION", "false")
    reset()
    # Read now: during a request the test client patches in the dev stage's variables (which say "true").
    assert settings().self_registration is False
    new = {"credentials": {"identity": "dave@example.com", "secret": PASSWORD}}
    assert_error(api.call("POST", "/users", new), 401)
    assert_error(api.call("POST", "/users", new, world.alice.token), 403)
    r = api.call("POST", "/users", new, world.admin.token)
    assert r.status_code == 201 and r.json["credentials"]["identity"] == "dave@example.com"


# -- sharing: viewer / editor / administrator as chalicelib/services/things.py defines ---------

# route -> the weakest relation allowed to call it (owner > administrator > editor > viewer)
SHARE_RULES = {
    ("GET", "/things/{thing_id}"): "viewer",
    ("GET", "/things/{thing_id}/channels"): "viewer",
    ("GET", "/things/{thing_id}/connection"): "viewer",
    ("PATCH", "/things/{thing_id}"): "editor",
    ("PATCH", "/things/{thing_id}/tags"): "editor",
    ("PATCH", "/things/{thing_id}/secret"): "editor",
    ("POST", "/things/{thing_id}/enable"): "editor",
    ("POST", "/things/{thing_id}/disable"): "editor",
    ("POST", "/things/{thing_id}/share"): "administrator",
    ("POST", "/things/{thing_id}/unshare"): "administrator",
    ("DELETE", "/things/{thing_id}"): "administrator",
}
RANK = {"viewer": 1, "editor": 2, "administrator": 3}
THING_ROUTES = [r for r in ROUTES if r.target == "thing"]


def test_share_rules_cover_every_thing_route():
    assert {(r.method, r.path) for r in THING_ROUTES} == set(SHARE_RULES)


@pytest.mark.parametrize("relation", ["viewer", "editor", "administrator"])
@pytest.mark.parametrize("route", THING_ROUTES, ids=_ids(THING_ROUTES))
def test_shared_thing_rights(api, world, make_user, route, relation):
    dave = make_user("dave")  # the share and unshare bodies name carol: dave is the one shared with
    r = api.call("POST", f"/things/{world.thing['id']}/share", {"user_ids": [dave.id], "relation": relation},
                 world.alice.token)
    assert r.status_code == 200, r.json
    if route.path.endswith("/unshare"):
        api.call("POST", f"/things/{world.thing['id']}/share", {"user_ids": [world.carol.id]}, world.alice.token)
    allowed = RANK[relation] >= RANK[SHARE_RULES[(route.method, route.path)]]
    before = snapshot(api, world)
    r = call(api, route, world, dave.token)
    if allowed:
        assert r.status_code == route.ok, (relation, r.status_code, r.json)
    else:
        assert_error(r, 403)
        assert snapshot(api, world) == before


@pytest.mark.parametrize("relation", ["viewer", "editor", "administrator"])
def test_shared_thing_is_listed_and_connectable_by_rank(api, world, relation):
    carol = world.carol
    api.call("POST", f"/things/{world.thing['id']}/share", {"user_ids": [carol.id], "relation": relation},
             world.alice.token)
    listed = api.call("GET", "/things", token=carol.token).json
    assert [t["id"] for t in listed["things"]] == [world.thing["id"]] and listed["total"] == 1
    # Connecting needs rights on both ends: carol's own channel + edit rights on the thing.
    r = api.call("POST", "/connect", {"thing_id": world.thing["id"], "channel_id": world.carol_channel["id"]},
                 carol.token)
    if relation == "viewer":
        assert_error(r, 403)
        assert api.call("GET", f"/channels/{world.carol_channel['id']}/things", token=carol.token).json["total"] == 0
    else:
        assert r.status_code == 201
        linked = api.call("GET", f"/channels/{world.carol_channel['id']}/things", token=carol.token).json
        assert [t["id"] for t in linked["things"]] == [world.thing["id"]]
    # A share on the thing gives nothing on the owner's channels.
    r = api.call("POST", "/connect", {"thing_id": world.thing["id"], "channel_id": world.channel["id"]}, carol.token)
    assert_error(r, 404)
    assert_error(api.call("GET", f"/channels/{world.channel['id']}", token=carol.token), 404)


def test_share_can_be_upgraded_downgraded_and_revoked(api, world):
    tid, carol = world.thing["id"], world.carol
    share = f"/things/{tid}/share"
    api.call("POST", share, {"user_ids": [carol.id], "relation": "editor"}, world.alice.token)
    assert api.call("PATCH", f"/things/{tid}", {"name": "by-carol"}, carol.token).status_code == 200
    # the spec's list form of relation is accepted too
    api.call("POST", share, {"user_ids": [carol.id], "relation": ["viewer"]}, world.alice.token)
    assert_error(api.call("PATCH", f"/things/{tid}", {"name": "again"}, carol.token), 403)
    api.call("POST", f"/things/{tid}/unshare", {"user_ids": [carol.id]}, world.alice.token)
    assert_error(api.call("GET", f"/things/{tid}", token=carol.token), 404)
    assert api.call("GET", "/things", token=carol.token).json["total"] == 0


def test_shared_administrator_can_share_onwards_but_not_take_ownership(api, world, make_user):
    tid, carol = world.thing["id"], world.carol
    dave = make_user("dave")
    api.call("POST", f"/things/{tid}/share", {"user_ids": [carol.id], "relation": "administrator"}, world.alice.token)
    r = api.call("POST", f"/things/{tid}/share", {"user_ids": [dave.id], "relation": "viewer"}, carol.token)
    assert r.status_code == 200
    assert api.call("GET", f"/things/{tid}", token=dave.token).json["owner_id"] == world.alice.id
    # sharing with the owner changes nothing for the owner
    api.call("POST", f"/things/{tid}/share", {"user_ids": [world.alice.id], "relation": "viewer"}, carol.token)
    assert api.call("PATCH", f"/things/{tid}", {"name": "still-mine"}, world.alice.token).status_code == 200


def test_unknown_relation_is_400(api, world):
    r = api.call("POST", f"/things/{world.thing['id']}/share", {"user_ids": [world.carol.id], "relation": "owner"},
                 world.alice.token)
    assert_error(r, 400)


# -- connecting needs rights on both ends, all or nothing ----------------------------------------

def test_bulk_connect_with_one_foreign_end_connects_nothing(api, world):
    other = api.thing(world.alice.token, name="second")
    body = {"thing_ids": [world.thing["id"], other["id"]], "channel_ids": [world.channel["id"],
                                                                          world.bob_channel["id"]]}
    assert_error(api.call("POST", "/connect", body, world.alice.token), 404)
    assert api.call("GET", f"/channels/{world.channel['id']}/things", token=world.alice.token).json["total"] == 0
    assert api.call("GET", f"/channels/{world.bob_channel['id']}/things", token=world.bob.token).json["total"] == 0


def test_disconnect_needs_rights_on_both_ends(api, world):
    api.call("POST", "/connect", {"thing_id": world.bob_thing["id"], "channel_id": world.channel["id"]},
             world.admin.token)
    # alice owns the channel but not the thing: she may not cut bob's thing off
    r = api.call("POST", "/disconnect", {"thing_id": world.bob_thing["id"], "channel_id": world.channel["id"]},
                 world.alice.token)
    assert_error(r, 404)
    r = api.call("GET", f"/channels/{world.channel['id']}/things", token=world.admin.token)
    assert [t["id"] for t in r.json["things"]] == [world.bob_thing["id"]]


# -- publishing with a thing key -------------------------------------------------------------------

def test_publish_needs_a_connected_thing_key(api, world):
    alice_key, bob_key = world.thing["credentials"]["secret"], world.bob_thing["credentials"]["secret"]
    cid = world.channel["id"]
    msg = [{"n": "temp", "v": 21.5}]
    for path in (f"/channels/{cid}/messages", f"/channels/{cid}/messages/room.a"):
        for headers in ({}, {"Authorization": f"Bearer {world.alice.token}"}, {"Authorization": "Thing not-a-key"}):
            assert_error(api.call("POST", path, msg, headers=headers), 401)
        # a valid key of a thing that is not connected: bob's, and alice's own before connecting
        assert_error(api.call("POST", path, msg, headers={"Authorization": f"Thing {bob_key}"}), 403)
        assert_error(api.call("POST", path, msg, headers={"Authorization": f"Thing {alice_key}"}), 403)
    api.call("POST", "/connect", {"thing_id": world.thing["id"], "channel_id": cid}, world.alice.token)
    for path in (f"/channels/{cid}/messages", f"/channels/{cid}/messages/room.a"):
        r = api.call("POST", path, msg, headers={"Authorization": f"Thing {alice_key}"})
        assert r.status_code == 202, r.json
        assert_error(api.call("POST", path, msg, headers={"Authorization": f"Thing {bob_key}"}), 403)
    # a disabled thing's key stops working
    api.call("POST", f"/things/{world.thing['id']}/disable", token=world.alice.token)
    assert_error(api.call("POST", f"/channels/{cid}/messages", msg, headers={"Authorization": f"Thing {alice_key}"}),
                 401)


def test_thing_keys_reach_only_their_own_thing_and_channels(api, world):
    """The routes that also take a thing key: connection info (own thing) and reading (connected channel)."""
    alice_key = {"Authorization": f"Thing {world.thing['credentials']['secret']}"}
    bob_key = {"Authorization": f"Thing {world.bob_thing['credentials']['secret']}"}
    own = api.call("GET", f"/things/{world.thing['id']}/connection", headers=alice_key)
    assert own.status_code == 200 and own.json["thing_id"] == world.thing["id"]
    r = api.call("GET", f"/things/{world.thing['id']}/connection", headers=bob_key)
    assert_error(r, 404)
    assert_no_leak(r, world)
    messages = f"/channels/{world.channel['id']}/messages"
    assert_error(api.call("GET", messages, headers=alice_key), 403)  # not connected yet
    assert_error(api.call("GET", messages, headers=bob_key), 403)
    api.call("POST", "/connect", {"thing_id": world.thing["id"], "channel_id": world.channel["id"]}, world.alice.token)
    assert api.call("GET", messages, headers=alice_key).status_code == 200
    assert_error(api.call("GET", messages, headers=bob_key), 403)
    assert_error(api.call("GET", messages, headers={"Authorization": "Thing not-a-key"}), 401)


# -- device certificates: who may call (AWS IoT itself is exercised in tests/e2e_mqtt) -------------

@pytest.mark.parametrize("route", DEVICE_ROUTES, ids=_ids(DEVICE_ROUTES))
def test_device_routes_authorization(api, world, make_user, route):
    before = snapshot(api, world)
    for name, headers in _bad_headers(world).items():
        assert_error(api.call(route.method, route.url(world), headers=headers), 401)
    # another tenant: 404 on my thing, exactly as on a thing that does not exist
    mine = assert_error(call(api, route, world, world.bob.token), 404)
    assert assert_error(call(api, route, world, world.bob.token, thing=str(uuid.uuid4())), 404) == mine
    # a viewer share lets one list and read certificates, not issue, rotate or revoke them
    dave = make_user("dave")
    api.call("POST", f"/things/{world.thing['id']}/share", {"user_ids": [dave.id], "relation": "viewer"},
             world.alice.token)
    r = call(api, route, world, dave.token)
    if route.method == "GET":
        assert r.status_code in (200, 404), r.json  # 404: the example certificate id does not exist
    else:
        assert_error(r, 403)
    api.call("POST", f"/things/{world.thing['id']}/unshare", {"user_ids": [dave.id]}, world.alice.token)
    assert snapshot(api, world) == before


class _UnreachableIot:
    def describe_endpoint(self, **kwargs):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://iot.us-east-1.amazonaws.com")


def test_connection_info_without_aws_iot_is_503(api, world, monkeypatch):
    from chalicelib import iot

    monkeypatch.delenv("IOT_ENDPOINT", raising=False)
    iot.reset()
    try:
        monkeypatch.setattr(iot.device_service(), "_iot", _UnreachableIot())
        r = api.call("GET", f"/things/{world.thing['id']}/connection", token=world.alice.token)
    finally:
        iot.reset()
    assert_error(r, 503)
