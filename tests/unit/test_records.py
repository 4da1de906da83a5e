"""Rows and their ids: the same event must always give the same rows (replays stay idempotent)."""
from __future__ import annotations

import base64
import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.backup.retry_queue import _batches
from chalicelib.messages.records import _NAMESPACE, build_rows, decode

CHANNEL = "5d0c7d36-2f38-4d4e-9d0b-6a1f1f0a9c11"
THING = "0b7e4a1e-7c47-4a43-8f2c-1d7e2f3a4b5c"


def _event(payload, subtopic="") -> dict:
    topic = f"channels/{CHANNEL}/messages" + (f"/{subtopic}" if subtopic else "")
    return {"payload": base64.b64encode(json.dumps(payload).encode()).decode(), "topic": topic,
            "client_id": THING, "received_at": 1_700_000_000_000}


@given(st.lists(st.tuples(st.sampled_from(["temp", "hum", "a:b/c"]),
                          st.floats(min_value=2**28, max_value=4e9, allow_nan=False)), min_size=1, max_size=20),
       st.sampled_from(["", "floor1", "a/b"]))
def test_senml_ids_are_uuid5_of_channel_subtopic_publisher_name_and_time(records, subtopic):
    rows = build_rows(decode(_event([{"n": n, "t": t, "v": 1.0} for n, t in records], subtopic))).senml
    sub = subtopic.replace("/", ".")
    for row in rows:
        key = f"{CHANNEL}|{sub}|{THING}|{row['name']}|{row['time']!r}"
        assert row["id"] == str(uuid.uuid5(_NAMESPACE, key))


def test_the_same_event_gives_the_same_rows():
    event = _event([{"bn": "dev:", "n": "temp", "v": 20.5}, {"n": "temp", "t": 1, "v": 21}])
    first, again = build_rows(decode(event)), build_rows(decode(dict(event)))
    assert first.senml == again.senml and len(first.senml) == 2


def test_retry_batches_respect_the_count_and_size_limits_of_sqs():
    small = ["x" * 100] * 25
    assert [len(b) for b in _batches(small)] == [10, 10, 5]
    big = ["y" * 171_000] * 3  # three 128 KB payloads, base64: one per call
    assert [len(b) for b in _batches(big)] == [1, 1, 1]
    mixed = ["y" * 171_000, "x" * 80_000, "x" * 10_000, "y" * 171_000]
    batches = list(_batches(mixed))
    assert sum(batches, []) == mixed
    assert all(sum(len(m) for m in b) <= 256 * 1024 for b in batches)
