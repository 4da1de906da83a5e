"""From an ingestion event to the rows we store, deterministically.

The same event always yields the same rows with the same ids: that is what makes
every retry, Lambda redelivery and SQS replay an idempotent insert.
"""
from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from chalicelib.messages import senml
from chalicelib.messages.senml import InvalidMessage

SENML_TYPES = ("application/senml+json", "application/senml-json")
JSON_TYPES = ("application/json",)
_NAMESPACE = uuid.UUID("6f1c2a52-5e0b-4d7e-9a43-0c5b7f5e2d11")
_NAMESPACE_BYTES = _NAMESPACE.bytes
_TOPIC = re.compile(
    r"^/?channels/(?P<channel>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})/messages(?P<sub>(?:/[^/#+]+)*)/?$"
)
_SUBTOPIC_PART = re.compile(r"^[\w\-:.]+$")


@dataclass(frozen=True)
class Incoming:
    """One device message, decoded from an ingestion event."""

    channel: str
    subtopic: str
    publisher: str  # thing id, as claimed by the client id or proven by the key
    protocol: str
    payload: bytes
    received_at: float  # seconds
    content_type: str = ""
    principal: str = ""
    topic: str = ""


@dataclass
class Rows:
    senml: list[dict] = field(default_factory=list)
    json: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.senml) + len(self.json)

    @classmethod
    def joined(cls, parts: Iterable[Rows]) -> Rows:
        """The rows of several messages, written together."""
        joined = cls()
        for rows in parts:
            joined.senml += rows.senml
            joined.json += rows.json
        return joined


def parse_topic(topic: str) -> tuple[str, str]:
    """channels/<id>/messages/a/b -> (id, "a.b"), Magistrala's subtopic form."""
    match = _TOPIC.match(topic or "")
    if not match:
        raise InvalidMessage("topic must be channels/<channel id>/messages[/<subtopic>...]")
    parts = [p for p in match.group("sub").split("/") if p]
    for part in parts:
        if not _SUBTOPIC_PART.match(part):
            raise InvalidMessage(f"invalid subtopic part {part!r}")
    return match.group("channel").lower(), ".".join(parts)


def decode(event: dict) -> Incoming:
    """Build an Incoming from the topic rule's (or HTTP publish's) event."""
    if not isinstance(event, dict):
        raise InvalidMessage("event must be an object")
    channel, subtopic = parse_topic(str(event.get("topic", "")))
    try:
        payload = base64.b64decode(event.get("payload") or "", validate=True)
    except (ValueError, TypeError):
        raise InvalidMessage("payload is not valid base64") from None
    received = event.get("received_at")
    if not isinstance(received, (int, float)) or isinstance(received, bool):
        raise InvalidMessage("received_at (epoch milliseconds) is required")
    publisher = str(event.get("publisher") or event.get("client_id") or "")
    return Incoming(
        channel=channel,
        subtopic=subtopic,
        publisher=publisher,
        protocol=str(event.get("protocol") or "mqtt"),
        payload=payload,
        received_at=received / 1000.0,
        content_type=str(event.get("content_type") or "").split(";")[0].strip().lower(),
        principal=str(event.get("principal") or ""),
        topic=str(event.get("topic")),
    )


def _is_senml(msg: Incoming, doc) -> bool:
    if msg.content_type in SENML_TYPES:
        return True
    if msg.content_type in JSON_TYPES:
        return False
    # MQTT carries no content type: SenML is recognised by its shape.
    return senml.looks_like_senml(doc)


def _message_id(key: str) -> str:
    """uuid.uuid5(_NAMESPACE, key) as text."""
    return _uuid5_text(hashlib.sha1(_NAMESPACE_BYTES + key.encode()))


# The RFC 4122 variant bits set on the 17th hex digit of the hash.
_VARIANT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}


def _uuid5_text(sha1) -> str:
    # uuid.uuid5 without building UUID objects (the hot path: once per stored record).
    h = sha1.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def build_rows(msg: Incoming) -> Rows:
    """Normalize the payload; raises InvalidMessage for anything we would not store."""
    if len(msg.payload) > senml.MAX_PAYLOAD_BYTES:
        raise InvalidMessage(f"message is larger than {senml.MAX_PAYLOAD_BYTES // 1024} KB")
    channel, subtopic, publisher, protocol = msg.channel, msg.subtopic, msg.publisher, msg.protocol
    rows = Rows()
    doc = senml.parse_payload(msg.payload)
    if _is_senml(msg, doc):
        # A record's id is uuid5 of "channel|subtopic|publisher|name|time": hash the common
        # prefix once per message and copy the hash state for each record.
        prefix = hashlib.sha1(_NAMESPACE_BYTES + f"{channel}|{subtopic}|{publisher}|".encode())
        append = rows.senml.append
        for m in senml.normalize_senml(doc, msg.received_at):
            h = prefix.copy()
            h.update(f"{m.name}|{m.time!r}".encode())
            append({"id": _uuid5_text(h), "channel": channel, "subtopic": subtopic, "publisher": publisher,
                    "protocol": protocol, "name": m.name, "unit": m.unit, "time": m.time,
                    "update_time": m.update_time, "value": m.value, "string_value": m.string_value,
                    "bool_value": m.bool_value, "data_value": m.data_value, "sum": m.sum})
        return rows
    digest = hashlib.sha256(msg.payload).hexdigest()
    for i, item in enumerate(senml.normalize_json(doc)):
        key = f"{channel}|{subtopic}|{publisher}|{msg.received_at!r}|{digest}|{i}"
        rows.json.append({"id": _message_id(key), "channel": channel, "subtopic": subtopic, "publisher": publisher,
                          "protocol": protocol, "created": msg.received_at, "payload": item})
    return rows
