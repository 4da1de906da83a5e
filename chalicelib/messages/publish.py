"""HTTP publishing: POST /channels/{id}/messages[/subtopic] with a thing key.

It builds the same event the topic rule builds, so HTTP and MQTT messages go
through one pipeline, then hands the message to MQTT subscribers.
"""
from __future__ import annotations

import base64
import time
from typing import Any

from chalicelib.entities import ENABLED
from chalicelib.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthenticated, Unavailable
from chalicelib.messages import forward
from chalicelib.messages.ingest import Ingestor, Outcome
from chalicelib.messages.senml import MAX_PAYLOAD_BYTES
from chalicelib.security import thing_keys

_ERRORS = {400: BadRequest, 401: Unauthenticated, 403: Forbidden, 404: NotFound}


class HttpPublisher:
    def __init__(self, things: Any, ingestor: Ingestor, backup: Any | None, data_key: str) -> None:
        self.things = things
        self.ingestor = ingestor
        self.backup = backup
        self.data_key = data_key

    def _publisher(self, key: str | None) -> str:
        try:
            return self.things.identify(key).id
        except Unavailable:
            if self.backup is None or not key:
                raise
            return self._publisher_from_backup(key)

    def _publisher_from_backup(self, key: str) -> str:
        digest = thing_keys.lookup_hash(self.data_key, key).hex()
        link = self.backup.get(f"thingkey#{digest}", "thingkey")
        thing = self.backup.get(f"thing#{link['thing_id']}", "thing") if link else None
        if not thing or thing.get("key_hash") != digest or thing.get("status") != ENABLED:
            raise Unauthenticated("invalid thing key")
        return thing["id"]

    def publish(self, authorization: str | None, channel_id: str, subtopic: str, payload: bytes,
                content_type: str) -> Outcome:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(f"messages are limited to {MAX_PAYLOAD_BYTES // 1024} KB")
        publisher = self._publisher(thing_keys.from_authorization(authorization))
        topic = f"channels/{channel_id}/messages" + (f"/{subtopic}" if subtopic else "")
        event = {
            "payload": base64.b64encode(payload).decode(),
            "topic": topic,
            "publisher": publisher,
            "client_id": publisher,
            "protocol": "http",
            "content_type": content_type,
            "received_at": int(time.time() * 1000),
        }
        outcome = self.ingestor.ingest(event)
        if outcome.status == "rejected":
            raise _ERRORS.get(outcome.code, BadRequest)(outcome.reason)
        forward.forward(topic, payload)
        return outcome
