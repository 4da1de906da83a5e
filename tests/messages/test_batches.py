"""The ingest Lambda as AWS runs it: batches from the ingest queue, one write per store per batch.

Every test counts both stores at the end: the good messages once, the rest nowhere.
"""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.messages.helpers import assert_exact, backup_items, heal, pg_count, queue_depth, rule_event, senml

NOW = time.time()


class _Context:
    function_name = "ingest"
    memory_limit_in_mb = 512
    aws_request_id = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _sqs_event(bodies: list[str]) -> dict:
    """What Lambda's SQS event source hands the ingest function."""
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "r", "body": body, "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:choovio-ingest", "awsRegion": "us-east-1",
    } for body in bodies]}


def _invoke(bodies: list[str]) -> dict:
    import app

    return app.ingest(_sqs_event(bodies), _Context())


def _body(channel, thing, payload) -> str:
    return json.dumps(rule_event(channel["id"], thing["id"], payload))


def test_a_batch_stores_the_good_and_records_the_rest(db, platform, fleet, stranger):
    _, (a, b, _), channel = fleet
    good = [_body(channel, a, senml(5, NOW - 1000 + i * 10)) for i in range(6)]
    good += [_body(channel, b, senml(3, NOW - 500 + i * 10, name="hum")) for i in range(4)]
    bad = [
        "{not json",                                                  # the queue message is not JSON
        json.dumps(["an", "array"]),                                  # not a rule event
        _body(channel, stranger, senml(2, NOW)),                      # not connected
        _body(channel, a, [{"n": "x", "v": "not a number"}]),         # invalid SenML
        json.dumps(rule_event(channel["id"], "not-a-thing", senml(2, NOW))),
    ]
    counts = _invoke(good[:5] + bad + good[5:])
    assert counts == {"stored": 10, "rejected": 5}
    assert_exact(db, platform, channel, 6 * 5 + 4 * 3)
    reasons = [r["reason"] for r in platform.ingestor.writer.rejections(channel["id"], 0, 10)[1]]
    assert len(reasons) == 3  # the two that name no channel are logged, not recorded
    assert any("not connected" in r for r in reasons)


def test_redelivered_and_repeated_messages_are_stored_once(db, platform, fleet):
    _, (a, _, _), channel = fleet
    bodies = [_body(channel, a, senml(4, NOW - 1000 + i * 10)) for i in range(5)]
    assert _invoke(bodies[:3]) == {"stored": 3}
    # SQS redelivers a batch that overlaps what is stored, with a message twice in it.
    assert _invoke(bodies + [bodies[4]]) == {"stored": 6}
    assert_exact(db, platform, channel, 5 * 4)


def test_postgres_down_queues_the_whole_batch_and_the_retry_stores_it(db, platform, fleet, stranger, pg_proxy, poller):
    _, (a, b, _), channel = fleet
    bodies = [_body(channel, (a, b)[i % 2], senml(4, NOW - 1000 + i * 10)) for i in range(8)]
    pg_proxy.down()
    # Authorization comes from the backup meanwhile: the stranger is still refused.
    assert _invoke(bodies + [_body(channel, stranger, senml(1, NOW))]) == {"queued": 8, "rejected": 1}
    assert len(backup_items(platform.backup, "msgs", channel["id"])) == 8 * 4
    # One retry message holds the whole batch, so that the replay is one write as well.
    assert queue_depth(platform.queue.client, platform.queue.url) == 1
    heal(pg_proxy, platform)
    assert pg_count(db, channel=channel["id"]) == 0
    poller.drain()
    assert_exact(db, platform, channel, 8 * 4)
    assert queue_depth(platform.queue.client, platform.queue.url) == 0


def test_nowhere_to_keep_it_fails_the_batch_and_sqs_redelivery_stores_it_once(db, platform, fleet, pg_proxy):
    from chalicelib.backup.retry_queue import RetryQueueUnavailable

    _, (a, _, _), channel = fleet
    bodies = [_body(channel, a, senml(4, NOW - 1000 + i * 10)) for i in range(4)]
    sqs = platform.queue.client

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    sqs.meta.events.register("before-call.sqs.SendMessageBatch", unreachable)
    pg_proxy.down()
    with pytest.raises(RetryQueueUnavailable):
        _invoke(bodies)  # the batch stays on the ingest queue
    heal(pg_proxy, platform)
    sqs.meta.events.unregister("before-call.sqs.SendMessageBatch", unreachable)
    assert _invoke(bodies) == {"stored": 4}  # SQS delivers it again; the backup has it already
    assert_exact(db, platform, channel, 4 * 4)


def test_an_ingest_message_redriven_from_the_dead_letter_queue_is_replayed(db, platform, fleet, poller):
    _, (a, _, _), channel = fleet
    # The ingest and retry queues share a dead-letter queue; redrive sends everything to the retry queue.
    platform.queue.client.send_message(QueueUrl=platform.queue.url, MessageBody=_body(channel, a, senml(3, NOW)))
    poller.drain()
    assert_exact(db, platform, channel, 3)
    assert queue_depth(platform.queue.client, platform.queue.url) == 0


def test_concurrent_batches_with_the_same_messages_store_each_once(db, platform, fleet):
    _, (a, b, _), channel = fleet
    bodies = [_body(channel, (a, b)[i % 2], senml(20, NOW - 5000 + i * 30)) for i in range(30)]
    errors = []

    def lambda_instance(part):
        try:
            platform.ingestor.ingest_bodies(part)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # Three "Lambda instances" got overlapping batches (SQS at-least-once delivery).
    threads = [threading.Thread(target=lambda_instance, args=(part,))
               for part in (bodies[:20], bodies[10:], bodies[5:25])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert pg_count(db, channel=channel["id"]) == 30 * 20


def test_redelivered_json_documents_are_stored_once(db, platform, fleet):
    _, (a, _, _), channel = fleet
    doc = _body(channel, a, {"temperature": 21.5, "door": "open"})
    pack = _body(channel, a, senml(2, NOW - 100))
    assert _invoke([doc]) == {"stored": 1}
    assert _invoke([pack, doc]) == {"stored": 2}  # the JSON row is the one already stored
    assert pg_count(db, table="json_messages", channel=channel["id"]) == 1
    assert len(backup_items(platform.backup, "json", channel["id"])) == 1
    assert_exact(db, platform, channel, 2)


def test_a_failed_batch_too_big_for_one_retry_message_is_split_and_replayed_whole(db, platform, fleet, pg_proxy,
                                                                                   poller):
    _, (a, _, _), channel = fleet
    # Packs of 2,000 records (76 KB each, 101 KB in base64): two fit in a 256 KB retry message.
    bodies = [_body(channel, a, senml(2000, NOW - 100_000 + i * 5000)) for i in range(5)]
    pg_proxy.down()
    assert _invoke(bodies) == {"queued": 5}
    depth = queue_depth(platform.queue.client, platform.queue.url)
    assert 2 <= depth < 5
    heal(pg_proxy, platform)
    poller.drain()
    assert_exact(db, platform, channel, 5 * 2000)


def test_a_retry_message_queued_before_batching_still_replays(db, platform, fleet, poller):
    _, (a, _, _), channel = fleet
    event = rule_event(channel["id"], a["id"], senml(3, NOW))
    for target in ("postgres", "backup"):
        platform.queue.client.send_message(QueueUrl=platform.queue.url, MessageBody=json.dumps(
            {"v": 1, "kind": "ingest", "target": target, "event": event}))
    poller.drain()
    assert_exact(db, platform, channel, 3)
