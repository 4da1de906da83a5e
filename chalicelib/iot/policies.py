"""IoT Core policy documents for one thing: connect as itself, use its connected channels only.

The same documents serve both ways a device connects: the custom authorizer returns them for
a thing id/key login, and they are the versions of the IoT policies attached to the thing's
certificates. IoT Core caps a document at 2048 characters (whitespace excluded); a thing with
many channels gets several documents (the authorizer may return up to 10, a certificate may
carry up to 10 policies).

In IoT policy resources `*` is a plain wildcard and MQTT's `#`/`+` are literal, so
`topicfilter/channels/<id>/messages/*` covers the filters `channels/<id>/messages/#` and
`channels/<id>/messages/a/+` alike; `channels/<id>/messages` itself is listed on its own.
"""
from __future__ import annotations

import json
import os

MAX_DOCUMENT_CHARS = 2048
MAX_DOCUMENTS = 10
TOPIC_PATTERN = "channels/{channel_id}/messages"


def arn_prefix(region: str | None = None, account: str | None = None) -> str:
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "*"
    account = account or os.environ.get("IOT_ACCOUNT_ID") or "*"
    return f"arn:aws:iot:{region}:{account}:"


def _size(doc: dict) -> int:
    return len(json.dumps(doc, separators=(",", ":")))


def _document(statements: list[dict]) -> dict:
    return {"Version": "2012-10-17", "Statement": statements}


def _channel_statements(prefix: str, channel_ids: list[str]) -> list[dict]:
    if not channel_ids:
        return []
    # "messages" and "messages/*", not "messages*", which would also match "messagesX".
    bases = [TOPIC_PATTERN.format(channel_id=c) for c in channel_ids]
    topics = [f"{prefix}topic/{b}{tail}" for b in bases for tail in ("", "/*")]
    filters = [f"{prefix}topicfilter/{b}{tail}" for b in bases for tail in ("", "/*")]
    return [
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": topics},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": filters},
    ]


def thing_policy_documents(thing_id: str, channel_ids: list[str], prefix: str | None = None) -> list[dict]:
    """Documents allowing client id == thing id and pub/sub on the given channels, each under the size cap."""
    prefix = prefix if prefix is not None else arn_prefix()
    connect = {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{prefix}client/{thing_id}"}
    docs: list[dict] = []
    current: list[str] = []
    for channel_id in sorted(set(channel_ids)):
        head = [connect] if not docs else []
        if current and _size(_document(head + _channel_statements(prefix, current + [channel_id]))) > MAX_DOCUMENT_CHARS:
            docs.append(_document(head + _channel_statements(prefix, current)))
            current = []
        current.append(channel_id)
    head = [connect] if not docs else []
    if current or not docs:
        docs.append(_document(head + _channel_statements(prefix, current)))
    if len(docs) > MAX_DOCUMENTS:
        raise ValueError(f"thing {thing_id} is connected to too many channels for IoT policies "
                         f"({len(channel_ids)}; at most about {MAX_DOCUMENTS * 10})")
    return docs


def policy_name(thing_id: str, index: int = 0) -> str:
    base = f"{os.environ.get('IOT_POLICY_PREFIX', 'choovio')}-thing-{thing_id}"
    return base if index == 0 else f"{base}-{index}"
