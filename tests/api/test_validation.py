"""Bad input gets a clear 4xx JSON error ({"error", "message"}), never a 500."""
from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import assert_error
from tests.api.test_authz_matrix import ROUTES, Route

BODY_ROUTES = [r for r in ROUTES if r.body is not None]
ID_ROUTES = [r for r in ROUTES if "{" in r.path]
LIST_PATHS = ["/things", "/channels", "/users", "/channels/{channel_id}/things", "/things/{thing_id}/channels"]


def _ids(routes):
    return [r.id for r in routes]


def _list_url(w, path: str) -> str:
    return path.format(channel_id=w.channel["id"], thing_id=w.thing["id"])


def _q(**params) -> str:
    return urllib.parse.urlencode(params)


# -- bodies ---------------------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"name": ',
    "unquoted-keys": b"{name: 1}",
    "trailing-comma": b'{"name": "x",}',
    "empty": b"",
    "just-text": b"hello",
    "single-quotes": b"{'name': 'x'}",
    "nan": b'{"name": "x", "metadata": {"v": NaN}}',
    "infinity": b'{"name": "x", "metadata": {"v": -Infinity}}',
    "float-overflow": b'{"name": "x", "metadata": {"v": 1e400}}',
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
    "invalid-utf8": b'{"name": "\xff\xfe"}',
    "two-documents": b'{"name": "a"} {"name": "b"}',
    "lone-surrogate": b'{"name": "\\ud800", "metadata": {"k": "\\udfff"}}',
}


@pytest.mark.parametrize("name", list(MALFORMED))
@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids(BODY_ROUTES))
def test_malformed_json_is_400(api, world, route, name):
    r = api.call(route.method, route.url(world), token=world.alice.token, raw=MALFORMED[name])
    assert_error(r, 400)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids(BODY_ROUTES))
def test_nul_characters_anywhere_in_a_body_are_400(api, world, route):
    body = route.body(world)
    if isinstance(body, list):
        body = [{**body[0], "name": "a\u0000b"}]
    else:
        body = {**body, "metadata": {"k\u0000": "v"}, "name": "x\u0000"}
    assert_error(api.call(route.method, route.url(world), body, world.alice.token), 400)


def test_nul_in_public_bodies_is_400(api):
    for method, path, body in (
        ("POST", "/users", {"credentials": {"identity": "nul\u0000@example.com", "secret": "a-long-password"}}),
        ("POST", "/users/tokens/issue", {"identity": "x\u0000@example.com", "secret": "a-long-password"}),
        ("POST", "/password/reset-request", {"email": "x\u0000@example.com"}),
    ):
        assert_error(api.call(method, path, body), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", ""])
@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids(BODY_ROUTES))
def test_wrong_content_type_is_415(api, world, route, content_type):
    r = api.call(route.method, route.url(world), route.body(world), world.alice.token,
                 headers={"Content-Type": content_type})
    assert_error(r, 415)


def test_missing_content_type_is_415(api, world):
    # api.call always sends one: go to the client directly.
    r = api.client.http.post("/things", headers={"Authorization": f"Bearer {world.alice.token}"},
                             body=json.dumps({"name": "x"}))
    assert_error(r, 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_content_type_variants_are_accepted(api, world, content_type):
    r = api.call("POST", "/things", {"name": "ct"}, world.alice.token, headers={"Content-Type": content_type})
    assert r.status_code == 201, r.json


def test_oversized_body_is_413(api, world):
    from chalicelib.config import settings

    limit = settings().max_body_bytes
    padding = "x" * (limit + 1)
    for route in (Route("POST", "/things", 201), Route("POST", "/things/bulk", 201),
                  Route("PATCH", "/users/{user_id}", 200), Route("POST", "/connect", 201)):
        body = {"name": "big", "metadata": {"pad": padding}}
        r = api.call(route.method, route.url(world), [body] if route.path.endswith("bulk") else body,
                     world.alice.token)
        assert_error(r, 413)
    assert_error(api.call("POST", "/users", {"credentials": {"identity": "big@example.com",
                                                             "secret": padding}}), 413)
    # just under the limit is fine (nothing else limits metadata)
    fits = {"name": "fits", "metadata": {"pad": "x" * (limit - 100)}}
    assert api.call("POST", "/things", fits, world.alice.token).status_code == 201


WRONG_TYPES = {
    ("POST", "/things"): [{"name": 5}, {"name": True}, {"tags": "a"}, {"tags": ["ok", 5]}, {"tags": [""]},
                          {"metadata": []}, {"metadata": "x"}, {"credentials": "x"}, {"credentials": {"secret": 5}},
                          {"status": "paused"}, {"id": "not-a-uuid"}, {"id": 5}],
    ("POST", "/things/bulk"): [{"name": "not-a-list"}, [], ["x"], [{"name": 5}], [{"tags": "a"}]],
    ("PATCH", "/things/{thing_id}"): [{"name": 5}, {"metadata": [1]}, {"metadata": "x"}],
    ("PATCH", "/things/{thing_id}/tags"): [{}, {"tags": "a"}, {"tags": [1]}, {"tags": None}],
    ("PATCH", "/things/{thing_id}/secret"): [{"secret": 5}, {"secret": ["x"]}],
    ("POST", "/things/{thing_id}/share"): [{}, {"user_ids": "x"}, {"user_ids": ["not-a-uuid"]}, {"user_ids": []},
                                           {"user_ids": ["6d1e0f9c-0000-4000-8000-000000000001"], "relation": 5}],
    ("POST", "/things/{thing_id}/unshare"): [{}, {"user_ids": [5]}],
    ("POST", "/channels"): [{"name": 5}, {"description": 5}, {"metadata": [1]}, {"status": "on"}, {"id": "x"}],
    ("PUT", "/channels/{channel_id}"): [{"name": []}, {"description": {}}, {"metadata": "x"}],
    ("POST", "/connect"): [{"thing_id": 5, "channel_id": 5}, {"thing_ids": "x"}, {"subjects": ["nope"]},
                           {"objects": [1]}, {"thing_id": "not-a-uuid", "channel_id": "not-a-uuid"}, {}],
    ("POST", "/disconnect"): [{"thing_ids": [1]}, {"objects": "x"}, {}],
    ("POST", "/users"): [{}, {"credentials": {"identity": "no-at-sign", "secret": "a-long-password"}},
                         {"credentials": {"identity": "a@b.c", "secret": 12345678}},
                         {"credentials": {"identity": "a@b.c", "secret": "short"}},
                         {"credentials": {"identity": "a@b.c", "secret": "a-long-password"}, "tags": "x"}],
    ("POST", "/users/tokens/issue"): [{}, {"identity": 5, "secret": "x"}, {"identity": "a@b.c"}],
    ("PATCH", "/users/{user_id}"): [{"name": 1}, {"metadata": "x"}],
    ("PATCH", "/users/{user_id}/tags"): [{"tags": "x"}, {"tags": [None]}],
    ("PATCH", "/users/{user_id}/identity"): [{}, {"identity": "not-an-email"}, {"identity": 5}],
    ("PATCH", "/users/{user_id}/role"): [{}, {"role": "root"}, {"role": 1}],
    ("PATCH", "/users/secret"): [{}, {"old_secret": 1, "new_secret": "a-long-password"}],
    ("POST", "/password/reset-request"): [{}, {"email": 5}],
    ("PUT", "/password/reset"): [{}, {"token": "x", "password": 5, "confirm_password": 5}],
}


@pytest.mark.parametrize("key", list(WRONG_TYPES), ids=[f"{m} {p}" for m, p in WRONG_TYPES])
def test_wrong_field_types_are_400(api, world, key):
    method, path = key
    token = world.admin.token if path.endswith("/role") else world.alice.token
    url = path.format(thing_id=world.thing["id"], channel_id=world.channel["id"], user_id=world.alice.id)
    for body in WRONG_TYPES[key]:
        r = api.call(method, url, body, token)
        assert_error(r, 400)
    # and nothing was changed on the way
    assert api.call("GET", f"/things/{world.thing['id']}", token=world.alice.token).json == world.thing


def test_body_of_the_wrong_json_kind_is_400(api, world):
    for raw in (b"[]", b'"text"', b"42", b"null", b"true"):
        assert_error(api.call("POST", "/things", token=world.alice.token, raw=raw), 400)
        assert_error(api.call("POST", "/users", raw=raw), 400)
    for raw in (b"{}", b'"text"', b"null"):
        assert_error(api.call("POST", "/things/bulk", token=world.alice.token, raw=raw), 400)


def test_bulk_is_limited_to_1000(api, world):
    assert_error(api.call("POST", "/things/bulk", [{}] * 1001, world.alice.token), 400)


def test_unknown_fields_are_ignored_and_cannot_set_server_fields(api, world):
    body = {"name": "x", "unknown": {"deep": [1, 2]}, "owner_id": world.bob.id, "created_at": "1999-01-01T00:00:00Z",
            "domain_id": "d", "parent_id": world.channel["id"]}
    r = api.call("POST", "/things", body, world.alice.token)
    assert r.status_code == 201, r.json
    assert r.json["owner_id"] == world.alice.id and not r.json["created_at"].startswith("1999")
    assert "unknown" not in r.json
    r = api.call("POST", "/channels", body, world.alice.token)
    assert r.status_code == 201 and r.json["owner_id"] == world.alice.id
    r = api.call("PATCH", f"/things/{world.thing['id']}", {"name": "n", "owner_id": world.bob.id, "status": "disabled"},
                 world.alice.token)
    assert r.status_code == 200 and r.json["owner_id"] == world.alice.id and r.json["status"] == "enabled"
    r = api.call("POST", "/users/tokens/issue", {"identity": world.alice.email, "secret": "a-long-password",
                                                 "domain_id": "x"})
    assert r.status_code == 201


# -- path parameters ------------------------------------------------------------------------------

BAD_IDS = ["not-a-uuid", "123", "6d1e0f9c-0000-4000-8000-00000000000g", "6d1e0f9c000040008000000000000001",
           urllib.parse.quote("' OR '1'='1"), urllib.parse.quote("6d1e0f9c-0000-4000-8000-000000000001; --"),
           "%00"]


@pytest.mark.parametrize("route", ID_ROUTES, ids=_ids(ID_ROUTES))
def test_non_uuid_ids_are_400(api, world, route):
    body = route.body(world) if route.body else None
    for bad in BAD_IDS:
        for field in ("thing", "channel", "user"):
            url = route.url(world, **{field: bad})
            if url == route.url(world):
                continue  # the route has no such id
            r = api.call(route.method, url, body, world.admin.token)
            assert_error(r, 400)


def test_uppercase_uuids_name_the_same_entity(api, world):
    r = api.call("GET", f"/things/{world.thing['id'].upper()}", token=world.alice.token)
    assert r.status_code == 200 and r.json["id"] == world.thing["id"]
    upper = "6D1E0F9C-0000-4000-8000-0000000000AB"
    r = api.call("POST", "/channels", {"id": upper}, world.alice.token)
    assert r.status_code == 201 and r.json["id"] == upper.lower()
    assert r.headers["Location"] == f"/channels/{upper.lower()}"


# -- query parameters -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", LIST_PATHS)
def test_paging_bounds_are_400(api, world, path):
    url = _list_url(world, path)
    for query in ("limit=101", "limit=0", "limit=-1", "offset=-1", "limit=abc", "offset=1.5", "limit=1e2",
                  "offset=99999999999999999999", "limit=", "status=paused", "status=ENABLED",
                  "metadata=not-json", "metadata=%5B1%5D", "metadata=%7B%22a%22%3ANaN%7D",
                  "metadata=" + urllib.parse.quote('{"a": "\\u0000"}'), "name=%00", "tag=a%00b"):
        if query == "limit=":
            r = api.call("GET", f"{url}?{query}", token=world.alice.token)
            assert r.status_code == 200 and r.json["limit"] == 10  # empty means default
            continue
        assert_error(api.call("GET", f"{url}?{query}", token=world.alice.token), 400)
    for query, limit, offset in (("limit=100", 100, 0), ("limit=1&offset=5", 1, 5),
                                 ("offset=9223372036854775807", 10, 2**63 - 1)):
        r = api.call("GET", f"{url}?{query}", token=world.alice.token)
        assert r.status_code == 200, r.json
        assert (r.json["limit"], r.json["offset"]) == (limit, offset)


@pytest.mark.parametrize("path", ["/channels/{channel_id}/things", "/things/{thing_id}/channels"])
def test_connected_flag_must_be_boolean(api, world, path):
    url = _list_url(world, path)
    assert_error(api.call("GET", f"{url}?connected=maybe", token=world.alice.token), 400)
    for value in ("true", "false", "1", "0", "TRUE"):
        assert api.call("GET", f"{url}?connected={value}", token=world.alice.token).status_code == 200


SQLISH = ["%' OR 1=1 --", "' OR ''='", "'; DROP TABLE things; --", "%", "_", "\\", "\\%", "x' UNION SELECT key_enc "
          "FROM things --", '"; SELECT pg_sleep(5); --', "$1", "%s", "%(u)s", "{}", "ä😀", "\x01"]


def test_sql_metacharacters_in_filters_are_plain_text(api, world):
    token = world.alice.token
    names = ["plain", "x%' OR 1=1 --y", "100%", "under_score", "back\\slash"]
    made = {n: api.thing(token, name=n, tags=[n], metadata={"k": n})["id"] for n in names}

    def found(query: str) -> set[str]:
        r = api.call("GET", f"/things?{query}&limit=100", token=token)
        assert r.status_code == 200, r.json
        assert r.json["total"] == len(r.json["things"])
        return {t["name"] for t in r.json["things"]}

    assert found(_q(name="%' OR 1=1 --")) == {"x%' OR 1=1 --y"}
    assert found(_q(name="%")) == {"x%' OR 1=1 --y", "100%"}
    assert found(_q(name="_")) == {"under_score"}
    assert found(_q(name="\\")) == {"back\\slash"}
    assert found(_q(name="' OR ''='")) == set()
    assert found(_q(tag="%' OR 1=1 --")) == set()
    assert found(_q(tag="x%' OR 1=1 --y")) == {"x%' OR 1=1 --y"}
    assert found(_q(metadata=json.dumps({"k": "x%' OR 1=1 --y"}))) == {"x%' OR 1=1 --y"}
    assert found(_q(metadata=json.dumps({"k": "' OR 1=1 --"}))) == set()
    for text in SQLISH:
        for path in ("/things", "/channels", "/users"):
            for param in ("name", "tag", "identity"):
                r = api.call("GET", f"{path}?{_q(**{param: text})}", token=token)
                assert r.status_code in (200, 400), (path, param, text, r.status_code)
                if r.status_code == 400:
                    assert_error(r, 400)
    # every table is still there and nothing leaked across tenants
    assert set(made.values()) <= {t["id"] for t in api.call("GET", "/things?limit=100", token=token).json["things"]}
    r = api.call("GET", f"/things?{_q(name='%')}", token=world.bob.token)
    assert r.json["total"] == 0


def test_sql_metacharacters_in_bodies_are_stored_verbatim(api, world):
    for text in SQLISH:
        r = api.call("POST", "/channels", {"name": text, "description": text, "metadata": {text: text}},
                     world.alice.token)
        assert r.status_code == 201, (text, r.json)
        got = api.call("GET", f"/channels/{r.json['id']}", token=world.alice.token).json
        assert (got["name"], got["description"], got["metadata"]) == (text.strip(), text, {text: text})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["name", "tag", "metadata", "status", "offset", "limit", "identity",
                                               "connected", "tags"]),
                              st.text(max_size=40), max_size=4))
def test_random_query_parameters_never_500(api, world, params):
    for path in ("/things", "/users", f"/channels/{world.channel['id']}/things"):
        r = api.call("GET", f"{path}?{urllib.parse.urlencode(params)}", token=world.alice.token)
        assert r.status_code in (200, 400), (path, params, r.status_code, r.body[:200])
        if r.status_code == 400:
            assert_error(r, 400)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["name", "tags", "metadata", "credentials", "status", "id", "description",
                                             "thing_id", "channel_id", "subjects", "objects", "user_ids", "relation"]),
                            JSONISH, max_size=5))
def test_random_bodies_never_500(api, world, body):
    for method, path in (("POST", "/things"), ("POST", "/channels"), ("POST", "/connect"),
                         ("PATCH", f"/things/{world.thing['id']}"), ("PUT", f"/channels/{world.channel['id']}"),
                         ("POST", f"/things/{world.thing['id']}/share")):
        r = api.call(method, path, body, world.alice.token)
        assert r.status_code < 500, (method, path, body, r.body[:200])
        if r.status_code >= 400:
            assert_error(r, r.status_code)


def test_wrong_method_is_405_with_a_json_error(api, world):
    assert_error(api.call("DELETE", "/things", token=world.alice.token), 405)
    assert_error(api.call("PUT", "/users/profile", {}, world.alice.token), 405)


def test_every_route_answers_garbage_with_a_4xx_json_error(api, world):
    """One sweep over app.routes: garbage in, never a 500 and always {"error", "message"}."""
    from app import app

    ids = {"thing_id": world.thing["id"], "channel_id": world.channel["id"], "user_id": world.alice.id,
           "subtopic": "a.b", "cert_id": str(uuid.uuid4())}
    for path, methods in app.routes.items():
        for method in methods:
            url = path.format(**ids)
            for token in (None, world.alice.token, world.admin.token):
                for raw in (b"{", b"[]", b'{"name": 5, "tags": "x", "metadata": 1}'):
                    r = api.call(method, url, token=token, raw=raw)
                    # 503 is the designed answer when AWS IoT (device certificates) is out of reach, as here.
                    assert r.status_code < 500 or r.status_code == 503, (method, path, raw, r.status_code,
                                                                         r.body[:200])
                    if r.status_code >= 400:
                        assert_error(r, r.status_code)
