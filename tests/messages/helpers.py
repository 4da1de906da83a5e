"""Small builders shared by the message tests."""
from __future__ import annotations

import base64
import json
import time

import psycopg


def senml(n: int, base_time: float, name: str = "temp", start: int = 0) -> list[dict]:
    """A pack of n records, one second apart, with base fields on the first."""
    first = {"bn": "dev:", "bt": base_time, "bu": "Cel", "n": name, "t": start, "v": 20.0 + start}
    return [first] + [{"n": name, "t": i, "v": 20.0 + i} for i in range(start + 1, start + n)]


def rule_event(channel_id: str, thing_id: str, payload, subtopic: str = "", received_ms: int | None = None) -> dict:
    """What the IoT topic rule hands to the ingestion Lambda."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    topic = f"channels/{channel_id}/messages" + (f"/{subtopic}" if subtopic else "")
    return {"payload": base64.b64encode(raw).decode(), "topic": topic, "client_id": thing_id,
            "principal": thing_id.replace("-", ""), "received_at": received_ms or int(time.time() * 1000)}


def pg_count(url: str, table: str = "messages", channel: str | None = None) -> int:
    with psycopg.connect(url) as conn:
        if channel:
            return conn.execute(f"SELECT count(*) FROM {table} WHERE channel = %s", (channel,)).fetchone()[0]
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def pg_ids(url: str, table: str = "messages") -> list[str]:
    with psycopg.connect(url) as conn:
        return sorted(str(r[0]) for r in conn.execute(f"SELECT id FROM {table}"))


def backup_items(backup, prefix: str, channel: str) -> list[dict]:
    return backup.query(f"{prefix}#{channel}")


def queue_depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def heal(proxy, platform, timeout: float = 15.0) -> None:
    """Bring PostgreSQL back and wait until the app's pool reaches it again."""
    from chalicelib.errors import Unavailable

    proxy.up()
    deadline = time.monotonic() + timeout
    while True:
        try:
            platform.store.get_user("00000000-0000-0000-0000-000000000000")
            return
        except Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def assert_exact(db, platform, channel, expected_records):
    assert pg_count(db, channel=channel["id"]) == expected_records
    items = backup_items(platform.backup, "msgs", channel["id"])
    assert len(items) == expected_records
    assert sorted(i["id"] for i in items) == pg_ids(db)
