"""Delivers HTTP-published messages to MQTT subscribers of the channel.

In AWS this is an IoT Core data-plane publish; the topic rule's `WHERE clientid() <> 'n/a'`
skips it (clientid() is 'n/a' for anything not published over MQTT), so the copy is not
ingested twice. The local stack registers its broker's publish function instead.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable

log = logging.getLogger("platform.forward")

Forwarder = Callable[[str, bytes], None]
_forwarder: Forwarder | None = None


def set_forwarder(fn: Forwarder | None) -> None:
    global _forwarder
    _forwarder = fn


def _iot_data_forwarder() -> Forwarder | None:
    endpoint = os.environ.get("IOT_DATA_ENDPOINT")
    if not endpoint:
        return None
    import boto3

    client = boto3.client("iot-data", endpoint_url=f"https://{endpoint}")

    def publish(topic: str, payload: bytes) -> None:
        client.publish(topic=topic, qos=1, payload=payload)

    return publish


def forward(topic: str, payload: bytes) -> None:
    """Best effort: the message is already stored; a subscriber missing it is not data loss."""
    global _forwarder
    if _forwarder is None:
        _forwarder = _iot_data_forwarder()
    if _forwarder is None:
        return
    try:
        _forwarder(topic, payload)
    except Exception:  # noqa: BLE001 - never fail a stored message over live delivery
        log.warning("could not forward a message on %s to subscribers", topic, exc_info=True)
