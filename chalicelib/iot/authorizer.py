"""IoT Core custom authorizer: MQTT username = thing id, password = thing key.

IoT Core calls the `iot_authorizer` Lambda with the CONNECT's credentials and applies the
policy documents we return to the whole connection (re-asking after refreshAfterInSeconds).
The local broker calls `authorize` with the same event shape, so both paths run this code.

Event (the parts we read):
    {"protocolData": {"mqtt": {"username": "<thing id>[?query]", "password": "<base64 key>",
                               "clientId": "<client id>"}}, ...}
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from typing import Any

from chalicelib.entities import ListQuery
from chalicelib.errors import PlatformError
from chalicelib.iot.policies import arn_prefix, thing_policy_documents

log = logging.getLogger(__name__)

# IoT Core accepts 300..86400 for both.
REFRESH_SECONDS = int(os.environ.get("IOT_AUTH_REFRESH_SECONDS", "300"))
DISCONNECT_SECONDS = int(os.environ.get("IOT_AUTH_DISCONNECT_SECONDS", "86400"))
DENY: dict[str, Any] = {"isAuthenticated": False}


def _credentials(event: dict) -> tuple[str, str, str]:
    mqtt = (event.get("protocolData") or {}).get("mqtt") or {}
    # SDKs append "?x-amz-customauthorizer-name=..." and metrics to the username.
    username = (mqtt.get("username") or "").split("?", 1)[0].strip()
    raw = mqtt.get("password") or ""
    try:
        password = base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        password = ""
    return username, password, mqtt.get("clientId") or ""


def connected_channel_ids(store: Any, thing_id: str) -> list[str]:
    """Enabled channels the thing is connected to (what a device may use)."""
    page = store.list_channels(ListQuery(limit=1000, status="enabled"), viewer=None, thing_id=thing_id,
                               connected=True)
    return [c.id for c in page.items]


def authorize(event: dict, things: Any, store: Any, prefix: str | None = None) -> dict:
    """The authorizer response for one CONNECT: allow the thing's own channels, or deny."""
    username, password, client_id = _credentials(event)
    if not username or not password:
        return DENY
    try:
        thing = things.identify(password)
    except PlatformError:
        return DENY
    if thing.id != username.lower():
        # A valid key presented under another thing's id: refuse rather than guess.
        return DENY
    documents = thing_policy_documents(thing.id, connected_channel_ids(store, thing.id), prefix)
    return {
        "isAuthenticated": True,
        "principalId": thing.id.replace("-", ""),  # IoT Core wants [a-zA-Z0-9]{1,128}
        "disconnectAfterInSeconds": DISCONNECT_SECONDS,
        "refreshAfterInSeconds": REFRESH_SECONDS,
        "policyDocuments": [_json(d) for d in documents],
        "context": {"thing_id": thing.id, "client_id": client_id},
    }


def _json(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"))


def handle(event: dict, context: Any = None) -> dict:
    """Entry point of the `iot_authorizer` Lambda."""
    from chalicelib.container import services

    account = None
    arn = getattr(context, "invoked_function_arn", "") or ""
    if arn.count(":") >= 5:
        account = arn.split(":")[4]
    s = services()
    try:
        return authorize(event, s.things, s.store, arn_prefix(account=account))
    except PlatformError as exc:  # database unavailable: deny, the device retries
        log.warning("authorizer denied a connection: %s", exc.message)
        return DENY
