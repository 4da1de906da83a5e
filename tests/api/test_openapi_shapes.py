"""Response shapes against Magistrala v0.14.0's OpenAPI specs, and our own /openapi.json against the app.

Every operation app.py serves is called once for real and its status and body are checked against
the matching Magistrala operation (users.yml, things.yml, http.yml), with $refs resolved. The specs'
entity schemas declare no required fields, so they are tightened here (see `tighten`): every field
Magistrala always sends is required and no field outside the spec may appear, except the few we
document. Where Magistrala's code and spec disagree, NOTICE.md says which one clients depend on.
"""
from __future__ import annotations

import copy
import os
import re
import uuid
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.api.conftest import PASSWORD
from tests.api.helpers import assert_error

SPEC_DIR = Path(os.environ.get(
    "MAGISTRALA_OPENAPI_DIR",
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "magistrala-v0.14.0-openapi"))

pytestmark = pytest.mark.skipif(not (SPEC_DIR / "things.yml").exists(),
                                reason=f"Magistrala reference specs not found in {SPEC_DIR}")

# Status codes where Magistrala's code (which clients see) differs from its spec (NOTICE.md).
CODE_NOT_SPEC_STATUS = {
    ("POST", "/users/tokens/issue"): 201,
    ("POST", "/users/tokens/refresh"): 201,  # the same tokenRes as issue in Magistrala's code
    ("POST", "/channels/{}/things/{}/connect"): 201,
    ("POST", "/channels/{}/things/{}/disconnect"): 204,
}
# Bodies where the spec documents something Magistrala's code never sends.
CODE_NOT_SPEC_BODY = {
    # spec: PoliciesPage; code: connectChannelThingRes{} (Empty() -> no body). Clients ignore the body; ours
    # lists the pairs connected, checked in test_listing.py.
    ("POST", "/connect"),
    ("POST", "/channels/{}/things/{}/connect"),  # the same: code sends no body, ours names the pair
    # spec: no body; ours reports how the message was stored (checked by the messages tests).
    ("POST", "/channels/{}/messages"),
    ("POST", "/channels/{}/messages/{}"),
}
# Fields we send beyond Magistrala's schemas, each one on purpose.
EXTRA_FIELDS = {
    "User": {"role": {"type": "string", "enum": ["admin", "user"]}},  # Magistrala's code sends it too
    "Thing": {"owner_id": {"type": "string", "format": "uuid"}},
    "ThingWithEmptySecret": {"owner_id": {"type": "string", "format": "uuid"}},
    "Channel": {"owner_id": {"type": "string", "format": "uuid"}},
}
# Fields of the schemas that only exist in Magistrala's domains and groups: omitted (as `omitempty` does).
ABSENT_FIELDS = {"domain_id", "parent_id", "path", "level"}


def _normalize(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    with open(SPEC_DIR / name) as f:
        return tighten(yaml.safe_load(f))


def tighten(spec: dict) -> dict:
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("User", "Thing", "ThingWithEmptySecret", "Channel"):
        if name not in schemas:
            continue
        schema = schemas[name]
        schema["properties"].update(EXTRA_FIELDS.get(name, {}))
        schema["required"] = sorted(set(schema["properties"]) - ABSENT_FIELDS)
        schema["additionalProperties"] = False
        creds = schema["properties"].get("credentials")
        if creds:
            creds["required"] = sorted(creds["properties"])
            creds["additionalProperties"] = False
    for name, key in (("UsersPage", "users"), ("ThingsPage", "things"), ("ChannelsPage", "channels")):
        if name in schemas:
            # ChannelsPage's spec requires "level" (copied from GroupsPage); pages are {total, offset, limit, key}.
            schemas[name]["required"] = ["total", "offset", "limit", key]
            schemas[name]["additionalProperties"] = False
    if "MessagesPage" in schemas:
        # The readers spec types channel and publisher ids as integers and names fields in camelCase;
        # Magistrala's code sends string ids and snake_case (tests/readers check the rows against the code).
        schemas["MessagesPage"]["properties"]["messages"]["items"] = {"type": "object"}
        schemas["MessagesPage"]["required"] = ["total", "offset", "limit", "messages"]
    if "Error" in schemas:
        schemas["Error"]["required"] = ["error", "message"]
        schemas["Error"]["properties"]["message"] = {"type": "string"}
        schemas["Error"]["additionalProperties"] = False
    token = spec.get("components", {}).get("responses", {}).get("TokenRes")
    if token:
        body = token["content"]["application/json"]["schema"]
        body["required"] = ["access_token", "refresh_token"]
        body["properties"]["access_type"] = {"type": "string"}
        body["additionalProperties"] = False
    return spec


def resolve(node, root: dict, depth: int = 0):
    """Inline every local $ref (the specs have no recursive schemas)."""
    assert depth < 50
    if isinstance(node, dict):
        if "$ref" in node:
            target = root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, root, depth + 1)
        return {k: resolve(v, root, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, root, depth + 1) for v in node]
    return node


def spec_operation(method: str, path: str) -> tuple[str, str, dict] | None:
    """(file, path, operation) in Magistrala's specs for one of our routes, or None for our own routes."""
    wanted = _normalize(path)
    if wanted == "/channels/{}/messages/{}":
        wanted = "/channels/{}/messages"  # Magistrala's adapter serves subtopics under the same operation
    for name in ("users.yml", "things.yml", "http.yml", "readers.yml"):
        spec = load(name)
        for spec_path, ops in spec["paths"].items():
            if _normalize(spec_path) == wanted and method.lower() in ops:
                return name, spec_path, resolve(ops[method.lower()], spec)
    return None


def success(operation: dict) -> tuple[int, dict | None]:
    codes = [c for c in operation["responses"] if str(c).startswith("2")]
    assert len(codes) == 1, codes
    response = operation["responses"][codes[0]]
    content = response.get("content") or {}
    media = content.get("application/json") or content.get("application/health+json")
    return int(codes[0]), (media or {}).get("schema")


def validate(body, schema: dict) -> None:
    # Every format jsonschema knows (uuid, date-time via rfc3339-validator), not only draft 4's.
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


# -- one real call per operation --------------------------------------------------------------------

class Mailbox:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.bodies.append(body)


def _connect(api, w):
    r = api.call("POST", "/connect", {"thing_id": w.thing["id"], "channel_id": w.channel["id"]}, w.alice.token)
    assert r.status_code == 201


def _reset(api, w, monkeypatch):
    from chalicelib.container import services

    box = Mailbox()
    monkeypatch.setattr(services().users, "mail", box)
    api.call("POST", "/password/reset-request", {"email": w.alice.email})
    token = re.search(r"token=(\S+)", box.bodies[0]).group(1)
    return api.call("PUT", "/password/reset", {"token": token, "password": "fresh-password-1",
                                               "confirm_password": "fresh-password-1"})


def _refresh(api, w):
    r = api.call("POST", "/users/tokens/issue", {"identity": w.alice.email, "secret": PASSWORD})
    return api.call("POST", "/users/tokens/refresh", token=r.json["refresh_token"])


def _publish(api, w, path):
    _connect(api, w)
    return api.call("POST", path.format(w.channel["id"]), [{"n": "t", "v": 1}],
                    headers={"Authorization": f"Thing {w.thing['credentials']['secret']}"})


def _rejections(api, w):
    api.call("POST", f"/channels/{w.channel['id']}/messages", [{"n": "t", "v": 1}],
             headers={"Authorization": f"Thing {w.thing['credentials']['secret']}"})  # not connected: refused
    return api.call("GET", f"/channels/{w.channel['id']}/rejections", token=w.alice.token)


def _read(api, w):
    _publish(api, w, "/channels/{}/messages")
    return api.call("GET", f"/channels/{w.channel['id']}/messages", token=w.alice.token)


def _page_of_two(api, w, path, token):
    api.thing(w.alice.token, name="second")
    api.channel(w.alice.token, name="second")
    return api.call("GET", path, token=token)


T, C = "{thing}", "{channel}"
CALLS = {
    ("GET", "/health"): lambda api, w, mp: api.call("GET", "/health"),
    ("GET", "/openapi.json"): lambda api, w, mp: api.call("GET", "/openapi.json"),
    ("POST", "/users"): lambda api, w, mp: api.call("POST", "/users", {
        "name": "new", "tags": ["a"], "metadata": {"k": 1},
        "credentials": {"identity": "new@example.com", "secret": PASSWORD}}),
    ("GET", "/users"): lambda api, w, mp: api.call("GET", "/users?limit=100", token=w.admin.token),
    ("GET", "/users/profile"): lambda api, w, mp: api.call("GET", "/users/profile", token=w.alice.token),
    ("POST", "/users/tokens/issue"): lambda api, w, mp: api.call(
        "POST", "/users/tokens/issue", {"identity": w.alice.email, "secret": PASSWORD}),
    ("POST", "/users/tokens/refresh"): lambda api, w, mp: _refresh(api, w),
    ("PATCH", "/users/secret"): lambda api, w, mp: api.call(
        "PATCH", "/users/secret", {"old_secret": PASSWORD, "new_secret": "another-long-password"}, w.alice.token),
    ("GET", "/users/{}"): lambda api, w, mp: api.call("GET", f"/users/{w.alice.id}", token=w.alice.token),
    ("PATCH", "/users/{}"): lambda api, w, mp: api.call(
        "PATCH", f"/users/{w.alice.id}", {"name": "n", "metadata": {"a": [1]}}, w.alice.token),
    ("PATCH", "/users/{}/tags"): lambda api, w, mp: api.call(
        "PATCH", f"/users/{w.alice.id}/tags", {"tags": ["x", "y"]}, w.alice.token),
    ("PATCH", "/users/{}/identity"): lambda api, w, mp: api.call(
        "PATCH", f"/users/{w.alice.id}/identity", {"identity": "alice2@example.com"}, w.alice.token),
    ("PATCH", "/users/{}/role"): lambda api, w, mp: api.call(
        "PATCH", f"/users/{w.alice.id}/role", {"role": "admin"}, w.admin.token),
    ("POST", "/users/{}/enable"): lambda api, w, mp: api.call("POST", f"/users/{w.alice.id}/enable",
                                                              token=w.admin.token),
    ("POST", "/users/{}/disable"): lambda api, w, mp: api.call("POST", f"/users/{w.alice.id}/disable",
                                                               token=w.admin.token),
    ("POST", "/password/reset-request"): lambda api, w, mp: api.call(
        "POST", "/password/reset-request", {"email": w.alice.email}),
    ("PUT", "/password/reset"): lambda api, w, mp: _reset(api, w, mp),
    ("POST", "/things"): lambda api, w, mp: api.call(
        "POST", "/things", {"name": "n", "tags": ["t"], "metadata": {"m": 1}, "credentials": {"identity": "i"}},
        w.alice.token),
    ("POST", "/things/bulk"): lambda api, w, mp: api.call("POST", "/things/bulk", [{"name": "a"}, {"name": "b"}],
                                                          w.alice.token),
    ("GET", "/things"): lambda api, w, mp: _page_of_two(api, w, "/things", w.alice.token),
    ("GET", "/things/{}"): lambda api, w, mp: api.call("GET", f"/things/{w.thing['id']}", token=w.alice.token),
    ("PATCH", "/things/{}"): lambda api, w, mp: api.call("PATCH", f"/things/{w.thing['id']}",
                                                         {"name": "n", "metadata": {}}, w.alice.token),
    ("DELETE", "/things/{}"): lambda api, w, mp: api.call("DELETE", f"/things/{w.thing['id']}", token=w.alice.token),
    ("PATCH", "/things/{}/tags"): lambda api, w, mp: api.call("PATCH", f"/things/{w.thing['id']}/tags",
                                                              {"tags": ["q"]}, w.alice.token),
    ("PATCH", "/things/{}/secret"): lambda api, w, mp: api.call(
        "PATCH", f"/things/{w.thing['id']}/secret", {"secret": "a-brand-new-thing-key"}, w.alice.token),
    ("POST", "/things/{}/enable"): lambda api, w, mp: api.call("POST", f"/things/{w.thing['id']}/enable",
                                                               token=w.alice.token),
    ("POST", "/things/{}/disable"): lambda api, w, mp: api.call("POST", f"/things/{w.thing['id']}/disable",
                                                                token=w.alice.token),
    ("POST", "/things/{}/share"): lambda api, w, mp: api.call(
        "POST", f"/things/{w.thing['id']}/share", {"user_ids": [w.bob.id], "relation": ["viewer"]}, w.alice.token),
    ("POST", "/things/{}/unshare"): lambda api, w, mp: api.call(
        "POST", f"/things/{w.thing['id']}/unshare", {"user_ids": [w.bob.id], "relation": ["viewer"]}, w.alice.token),
    ("GET", "/things/{}/channels"): lambda api, w, mp: (
        _connect(api, w), api.call("GET", f"/things/{w.thing['id']}/channels", token=w.alice.token))[1],
    ("POST", "/channels"): lambda api, w, mp: api.call(
        "POST", "/channels", {"name": "n", "description": "d", "metadata": {"m": 1}}, w.alice.token),
    ("GET", "/channels"): lambda api, w, mp: _page_of_two(api, w, "/channels", w.alice.token),
    ("GET", "/channels/{}"): lambda api, w, mp: api.call("GET", f"/channels/{w.channel['id']}", token=w.alice.token),
    ("PUT", "/channels/{}"): lambda api, w, mp: api.call(
        "PUT", f"/channels/{w.channel['id']}", {"name": "n", "description": "d", "metadata": {}}, w.alice.token),
    ("DELETE", "/channels/{}"): lambda api, w, mp: api.call("DELETE", f"/channels/{w.channel['id']}",
                                                            token=w.alice.token),
    ("POST", "/channels/{}/enable"): lambda api, w, mp: api.call("POST", f"/channels/{w.channel['id']}/enable",
                                                                 token=w.alice.token),
    ("POST", "/channels/{}/disable"): lambda api, w, mp: api.call("POST", f"/channels/{w.channel['id']}/disable",
                                                                  token=w.alice.token),
    ("GET", "/channels/{}/things"): lambda api, w, mp: (
        _connect(api, w), api.call("GET", f"/channels/{w.channel['id']}/things", token=w.alice.token))[1],
    ("POST", "/connect"): lambda api, w, mp: api.call(
        "POST", "/connect", {"subjects": [w.thing["id"]], "objects": [w.channel["id"]], "permission": ["publish"]},
        w.alice.token),
    ("POST", "/disconnect"): lambda api, w, mp: (_connect(api, w), api.call(
        "POST", "/disconnect", {"subjects": [w.thing["id"]], "objects": [w.channel["id"]]}, w.alice.token))[1],
    ("POST", "/channels/{}/things/{}/connect"): lambda api, w, mp: api.call(
        "POST", f"/channels/{w.channel['id']}/things/{w.thing['id']}/connect", token=w.alice.token),
    ("POST", "/channels/{}/things/{}/disconnect"): lambda api, w, mp: (_connect(api, w), api.call(
        "POST", f"/channels/{w.channel['id']}/things/{w.thing['id']}/disconnect", token=w.alice.token))[1],
    ("POST", "/channels/{}/messages"): lambda api, w, mp: _publish(api, w, "/channels/{}/messages"),
    ("POST", "/channels/{}/messages/{}"): lambda api, w, mp: _publish(api, w, "/channels/{}/messages/a.b"),
    ("GET", "/channels/{}/rejections"): lambda api, w, mp: _rejections(api, w),
    ("GET", "/channels/{}/messages"): lambda api, w, mp: _read(api, w),
    ("GET", "/things/{}/connection"): lambda api, w, mp: api.call("GET", f"/things/{w.thing['id']}/connection",
                                                                  token=w.alice.token),
}


def _served() -> list[tuple[str, str]]:
    from app import app

    return sorted((m, p) for p, methods in app.routes.items() for m in methods)


SERVED = _served()


# Routes that are neither Magistrala's nor callable successfully here, with the suite that covers them.
ELSEWHERE = {
    ("GET", "/admin/backup/health"): "tests/messages/test_backup_tools.py (needs the DynamoDB backup)",
    ("POST", "/admin/backup/redrive"): "tests/messages/test_backup_tools.py (needs the DynamoDB backup)",
    ("POST", "/admin/backup/verify"): "tests/messages/test_backup_tools.py (needs the DynamoDB backup)",
    **{(m, p): "tests/e2e_mqtt/test_devices_mqtt.py (needs AWS IoT)" for m, p in (
        ("POST", "/things/{thing_id}/certificates"), ("GET", "/things/{thing_id}/certificates"),
        ("POST", "/things/{thing_id}/certificates/rotate"), ("GET", "/things/{thing_id}/certificates/{cert_id}"),
        ("DELETE", "/things/{thing_id}/certificates/{cert_id}"))},
}
CALLED = [(m, p) for m, p in SERVED if (m, p) not in ELSEWHERE]


def test_every_served_route_has_a_call():
    missing = {(m, _normalize(p)) for m, p in CALLED} - set(CALLS)
    assert not missing, f"add a call for: {sorted(missing)}"
    assert not set(CALLS) - {(m, _normalize(p)) for m, p in CALLED}
    for method, path in ELSEWHERE:
        assert spec_operation(method, path) is None  # not a Magistrala operation


@lru_cache(maxsize=1)
def own_document() -> dict:
    from app import VERSION, app
    from chalicelib.api.openapi import openapi_document

    return openapi_document(app, VERSION)


@pytest.mark.parametrize("method,path", CALLED, ids=[f"{m} {p}" for m, p in CALLED])
def test_response_matches_magistrala_and_our_document(api, world, monkeypatch, method, path):
    response = CALLS[(method, _normalize(path))](api, world, monkeypatch)
    key = (method, _normalize(path))
    body = response.json

    # 1. our own document promises exactly this status, and its schema (if any) holds
    ours = own_document()["paths"][path][method.lower()]
    assert str(response.status_code) in ours["responses"], (response.status_code, list(ours["responses"]))
    assert response.status_code < 300, (response.status_code, body)
    content = ours["responses"][str(response.status_code)].get("content")
    if content:
        schema = resolve(content["application/json"]["schema"], own_document())
        validate(body, schema)

    # 2. Magistrala's spec
    found = spec_operation(method, path)
    if found is None:
        assert key in {("GET", "/openapi.json"), ("GET", "/channels/{}/rejections"), ("GET", "/things/{}/connection")}
        return
    _, _, operation = found
    spec_status, schema = success(operation)
    assert response.status_code == CODE_NOT_SPEC_STATUS.get(key, spec_status)
    if key in CODE_NOT_SPEC_BODY:
        assert body is None or isinstance(body, dict)
    elif schema is None:
        assert body in (None, {}), body  # the spec documents no body
    else:
        validate(body, schema)
        for page_key in ("users", "things", "channels"):
            if page_key in schema.get("properties", {}):
                assert len(body[page_key]) >= 1, "validate at least one item"
    if response.status_code == 201 and key in {("POST", "/things"), ("POST", "/channels"), ("POST", "/users")}:
        assert response.headers["Location"] == f"{path}/{body['id']}"


def test_thing_listings_carry_the_key_as_magistrala_does(api, world):
    body = api.call("GET", "/things", token=world.alice.token).json
    assert body["things"][0]["credentials"]["secret"] == world.thing["credentials"]["secret"]


def test_tightened_schemas_catch_drift():
    """The checks above have teeth: shapes that drift from Magistrala's are refused."""
    _, _, operation = spec_operation("GET", "/things/{thing_id}")
    _, schema = success(operation)
    good = {"id": str(uuid.uuid4()), "name": "n", "tags": [], "owner_id": str(uuid.uuid4()),
            "credentials": {"identity": "", "secret": "k"}, "metadata": {}, "status": "enabled",
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
    validate(good, schema)
    drifted = [
        {k: v for k, v in good.items() if k != "tags"},
        {**good, "id": "not-a-uuid"},
        {**good, "created_at": "yesterday"},
        {**good, "metadata": []},
        {**good, "key_hash": "leak"},
        {**good, "credentials": {"identity": "", "secret": "k", "key_enc": "x"}},
    ]
    for body in drifted:
        with pytest.raises(jsonschema.ValidationError):
            validate(body, schema)
    _, _, page_op = spec_operation("GET", "/channels")
    _, page_schema = success(page_op)
    with pytest.raises(jsonschema.ValidationError):
        validate({"total": 0, "offset": 0, "channels": []}, page_schema)  # no limit


ERROR_CASES = [
    ("POST", "/things", b"{", 400),
    ("GET", "/things/not-a-uuid", None, 400),
    ("GET", "/things", None, 401),
    ("GET", "/users/{other}", None, 404),
    ("POST", "/users", b'{"credentials": {"identity": "alice@example.com", "secret": "a-long-password"}}', 409),
    ("PATCH", "/users/{other}/role", b'{"role": "admin"}', 403),
]


@pytest.mark.parametrize("method,path,raw,status", ERROR_CASES, ids=[f"{c[3]}" for c in ERROR_CASES])
def test_error_bodies_match_the_spec_error_schema(api, world, method, path, raw, status):
    token = None if status == 401 else world.alice.token
    r = api.call(method, path.format(other=world.bob.id), token=token, raw=raw)
    assert_error(r, status)
    validate(r.json, resolve(load("things.yml")["components"]["schemas"]["Error"], load("things.yml")))


# -- our own /openapi.json ---------------------------------------------------------------------------

def test_openapi_document_lists_exactly_the_served_routes(api):
    r = api.call("GET", "/openapi.json")
    assert r.status_code == 200
    documented = {(m.upper(), p) for p, ops in r.json["paths"].items() for m in ops
                  if m in ("get", "post", "put", "patch", "delete")}
    assert documented == set(SERVED)
    from app import app

    ids = [op["operationId"] for ops in r.json["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert {(m, p): app.routes[p][m].view_name for m, p in SERVED} == {
        (m.upper(), p): op["operationId"] for p, ops in r.json["paths"].items() for m, op in ops.items()}


def test_openapi_document_is_a_valid_openapi_document(api):
    from openapi_spec_validator import validate as validate_spec

    validate_spec(copy.deepcopy(api.call("GET", "/openapi.json").json))


def test_openapi_document_declares_every_path_parameter(api):
    doc = api.call("GET", "/openapi.json").json
    for path, ops in doc["paths"].items():
        params = {p["name"] for op in ops.values() for p in op.get("parameters", []) if p["in"] == "path"}
        assert params == set(re.findall(r"\{([^}]+)\}", path)), path
        for method, op in ops.items():
            assert any(code.startswith("2") for code in op["responses"]), (method, path)


PUBLIC = {("get", "/health"), ("get", "/openapi.json"), ("post", "/users/tokens/issue"),
          ("post", "/password/reset-request"), ("put", "/password/reset")}
THING_KEY = {("post", "/channels/{channel_id}/messages"), ("post", "/channels/{channel_id}/messages/{subtopic}")}


def test_openapi_document_marks_public_routes_and_protected_ones(api):
    doc = api.call("GET", "/openapi.json").json
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if (method, path) in PUBLIC:
                assert not op.get("security"), (method, path)
            elif (method, path) not in THING_KEY | {("post", "/users")}:
                assert op.get("security") == [{"bearerAuth": []}], (method, path)


def test_openapi_document_says_registration_needs_no_token(api):
    op = api.call("GET", "/openapi.json").json["paths"]["/users"]["post"]
    assert not op.get("security") or {} in op["security"]


def test_openapi_document_says_publishing_takes_a_thing_key(api):
    doc = api.call("GET", "/openapi.json").json
    for method, path in THING_KEY:
        assert doc["paths"][path][method]["security"] == [{"thingAuth": []}]
