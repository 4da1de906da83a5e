"""The project's OpenAPI document, generated from the routes Chalice actually serves.

Request schemas come from the same pydantic models the routes validate with, so
the document cannot drift from the code; a test checks every route is described.
"""
from __future__ import annotations

from typing import Any

from chalicelib.api import requests as rq

# view function name -> (request model or None, success status, response schema name, summary)
OPERATIONS: dict[str, tuple[Any, int, str | None, str]] = {
    "health": (None, 200, "Health", "Service health"),
    "openapi": (None, 200, None, "This document"),
    "create_user": (rq.CreateUser, 201, "User", "Register a user"),
    "list_users": (None, 200, "UsersPage", "List users (admins: all; others: themselves)"),
    "profile": (None, 200, "User", "The caller's profile"),
    "issue_token": (rq.IssueToken, 201, "Tokens", "Log in: issue access and refresh tokens"),
    "refresh_token": (None, 201, "Tokens", "Exchange a refresh token for a new pair"),
    "update_user_secret": (rq.UpdateSecret, 200, "User", "Change the caller's password"),
    "view_user": (None, 200, "User", "View a user"),
    "update_user": (rq.UpdateEntity, 200, "User", "Update name and metadata"),
    "update_user_tags": (rq.UpdateTags, 200, "User", "Replace tags"),
    "update_user_identity": (rq.UpdateIdentity, 200, "User", "Change identity (email)"),
    "update_user_role": (rq.UpdateRole, 200, "User", "Set role (admin only)"),
    "enable_user": (None, 200, "User", "Enable a user (admin only)"),
    "disable_user": (None, 200, "User", "Disable a user (admin only)"),
    "password_reset_request": (rq.ResetRequest, 201, None, "Mail a password reset link"),
    "password_reset": (rq.PasswordReset, 201, None, "Set a new password with a reset token"),
    "create_thing": (rq.CreateThing, 201, "Thing", "Create a thing"),
    "create_things": (None, 201, "ThingsPage", "Create up to 1000 things at once (array of CreateThing)"),
    "list_things": (None, 200, "ThingsPage", "List things"),
    "view_thing": (None, 200, "Thing", "View a thing"),
    "update_thing": (rq.UpdateEntity, 200, "Thing", "Update name and metadata"),
    "delete_thing": (None, 204, None, "Delete a thing"),
    "update_thing_tags": (rq.UpdateTags, 200, "Thing", "Replace tags"),
    "update_thing_secret": (rq.ThingSecret, 200, "Thing", "Set or rotate (empty body) the thing key"),
    "enable_thing": (None, 200, "Thing", "Enable a thing"),
    "disable_thing": (None, 200, "Thing", "Disable a thing"),
    "share_thing": (rq.Share, 200, None, "Share a thing with users"),
    "unshare_thing": (rq.Unshare, 200, None, "Stop sharing a thing"),
    "list_thing_channels": (None, 200, "ChannelsPage", "Channels a thing is (not) connected to"),
    "create_channel": (rq.CreateChannel, 201, "Channel", "Create a channel"),
    "list_channels": (None, 200, "ChannelsPage", "List channels"),
    "view_channel": (None, 200, "Channel", "View a channel"),
    "update_channel": (rq.UpdateEntity, 200, "Channel", "Update name, description and metadata"),
    "delete_channel": (None, 204, None, "Delete a channel"),
    "enable_channel": (None, 200, "Channel", "Enable a channel"),
    "disable_channel": (None, 200, "Channel", "Disable a channel"),
    "list_channel_things": (None, 200, "ThingsPage", "Things (not) connected to a channel"),
    "connect": (rq.Connect, 201, None, "Connect things to channels"),
    "disconnect": (rq.Connect, 204, None, "Disconnect things from channels"),
    "connect_one": (None, 201, None, "Connect one thing to one channel"),
    "disconnect_one": (None, 204, None, "Disconnect one thing from one channel"),
    "publish": (None, 202, None, "Publish a message (Authorization: Thing <key>; SenML or JSON body)"),
    "publish_subtopic": (None, 202, None, "Publish a message on a subtopic (dots separate levels)"),
    "list_rejections": (None, 200, None, "Messages refused on this channel, with reasons"),
    "backup_health": (None, 200, None, "Retry-queue depth, dead letters, last verification (admin)"),
    "backup_redrive": (None, 200, None, "Move dead letters back to the retry queue (admin)"),
    "backup_verify": (None, 200, None, "Compare PostgreSQL with the backup; repair=true fixes drift (admin)"),
}

_ENTITY = {"type": "object", "additionalProperties": True}
_RESPONSES = {
    "User": _ENTITY,
    "Thing": _ENTITY,
    "Channel": _ENTITY,
    "Health": _ENTITY,
    "Tokens": {"type": "object", "required": ["access_token", "refresh_token"],
               "properties": {"access_token": {"type": "string"}, "refresh_token": {"type": "string"},
                              "access_type": {"type": "string"}}},
}
for _key, _item in (("users", "User"), ("things", "Thing"), ("channels", "Channel")):
    _RESPONSES[f"{_key.capitalize()}Page"] = {
        "type": "object", "required": ["total", "offset", "limit", _key],
        "properties": {"total": {"type": "integer"}, "offset": {"type": "integer"},
                       "limit": {"type": "integer"},
                       _key: {"type": "array", "items": {"$ref": f"#/components/schemas/{_item}"}}},
    }
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
_LIST_PARAMS = ["offset", "limit", "name", "tag", "metadata", "status"]


def _operation(name: str, path: str, method: str, schemas: dict, doc: str | None) -> dict:
    # Blueprint routes describe themselves: the first line of the view's docstring.
    default = (None, 200, None, (doc or name).strip().splitlines()[0])
    model, status, response, summary = OPERATIONS.get(name, default)
    op: dict[str, Any] = {"operationId": name, "summary": summary, "responses": {}}
    params = [{"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
              for p in path.split("/") if p.startswith("{")]
    if method == "GET" and response and response.endswith("Page"):
        params += [{"name": p, "in": "query", "required": False, "schema": {"type": "string"}}
                   for p in _LIST_PARAMS]
    if params:
        op["parameters"] = params
    if model is not None:
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub, sub_schema in schemas[model.__name__].pop("$defs", {}).items():
            schemas[sub] = sub_schema
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
    ok: dict[str, Any] = {"description": summary}
    if response:
        ok["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{response}"}}}
    op["responses"][str(status)] = ok
    op["responses"]["default"] = {"description": "error", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if name in ("publish", "publish_subtopic"):
        op["security"] = [{"thingAuth": []}]
    elif name == "create_user":
        op["security"] = [{}, {"bearerAuth": []}]  # self-registration, or an administrator
    elif name not in ("health", "openapi", "issue_token", "password_reset_request", "password_reset"):
        op["security"] = [{"bearerAuth": []}]
    return op


def openapi_document(app: Any, version: str) -> dict:
    """Built on first request and kept: the route table does not change at run time."""
    if version not in _cache:
        _cache[version] = _build(app.routes, version)
    return _cache[version]


_cache: dict[str, dict] = {}


def _build(routes: dict, version: str) -> dict:
    schemas: dict[str, Any] = {**_RESPONSES, "Error": _ERROR}
    paths: dict[str, Any] = {}
    for path, methods in sorted(routes.items()):
        for method, entry in methods.items():
            paths.setdefault(path, {})[method.lower()] = _operation(entry.view_name, path, method, schemas,
                                                                  entry.view_function.__doc__)
    return {
        # 3.1: the request schemas are pydantic's JSON Schema (2020-12), which 3.0 cannot express.
        "openapi": "3.1.0",
        "info": {"title": "Choovio IoT platform API", "version": version,
                 "description": "Magistrala v0.14.0-compatible users, things, channels and messages API."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "thingAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "Thing <key>"}}},
    }
