"""Faults injected on purpose; every message is counted at the end: none lost, none doubled."""
from __future__ import annotations

import itertools
import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.messages.helpers import assert_exact, heal, pg_count, queue_depth, rule_event, senml

NOW = time.time()


def _events(channel, things, n, offset=0):
    """n packs of 4 records, from the fleet's things in turn, with explicit times."""
    cycle = itertools.cycle(things)
    return [rule_event(channel["id"], next(cycle)["id"], senml(4, NOW - 10_000 + (offset + i) * 10))
            for i in range(n)]


def _fail_calls(client, operation: str, every: int, code: str = "ProvisionedThroughputExceededException"):
    """Make every `every`-th call of an AWS operation fail the way AWS fails it."""
    counter = itertools.count(1)

    def hook(**_):
        if next(counter) % every == 0:
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    client.meta.events.register(f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}", hook)
    return hook


def test_postgres_down_during_a_run(db, platform, fleet, pg_proxy, poller):
    _, things, channel = fleet
    events = _events(channel, things, 30)
    statuses = []
    for i, event in enumerate(events):
        if i == 10:
            pg_proxy.down()  # a blip in the middle of the run
        if i == 20:
            heal(pg_proxy, platform)
        statuses.append(platform.ingestor.ingest(event).status)
    # During the outage the publisher was authorized from the backup and nothing was refused.
    assert statuses.count("rejected") == 0
    assert statuses[10:20] == ["queued"] * 10
    assert pg_count(db, channel=channel["id"]) == 20 * 4
    poller.drain()
    assert_exact(db, platform, channel, 30 * 4)
    assert queue_depth(platform.queue.client, platform.queue.url) == 0


def test_backup_throttled_on_a_share_of_writes(db, platform, fleet, poller):
    _, things, channel = fleet
    client = platform.backup.table.meta.client
    hook = _fail_calls(client, "BatchWriteItem", every=3)
    statuses = [platform.ingestor.ingest(e).status for e in _events(channel, things, 30)]
    assert statuses.count("queued") == 10
    client.meta.events.unregister("before-call.dynamodb.BatchWriteItem", hook)
    poller.drain()
    assert_exact(db, platform, channel, 30 * 4)


def test_on_failure_destination_record_is_replayed(db, platform, fleet, poller):
    _, things, channel = fleet
    event = _events(channel, things, 1)[0]
    record = {"version": "1.0", "requestContext": {"condition": "RetriesExhausted"}, "requestPayload": event}
    platform.queue.client.send_message(QueueUrl=platform.queue.url, MessageBody=json.dumps(record))
    poller.drain()
    assert_exact(db, platform, channel, 4)


def test_retry_lambda_crash_mid_batch_and_poison_messages(db, platform, fleet, pg_proxy, poller):
    _, things, channel = fleet
    pg_proxy.down()
    statuses = [platform.ingestor.ingest(e).status for e in _events(channel, things, 12)]
    heal(pg_proxy, platform)
    assert statuses == ["queued"] * 12
    sqs, url = platform.queue.client, platform.queue.url
    for body in ("not json", json.dumps({"kind": "mystery"}), json.dumps([1, 2])):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    # The first invocation dies half way through its batch (the process crashes).
    original = platform.replayer.handle
    calls = itertools.count()

    def crash_once(body, sent_at_ms=None):
        if next(calls) == 4:
            raise SystemExit("retry Lambda crashed")
        return original(body, sent_at_ms)

    platform.replayer.handle = crash_once
    try:
        with pytest.raises(SystemExit):
            poller.poll_once()
    finally:
        platform.replayer.handle = original
    poller.drain()
    assert_exact(db, platform, channel, 12 * 4)
    # Poison messages ended in the dead-letter queue after their bounded receives.
    import os

    dlq = os.environ["DEAD_LETTER_QUEUE_URL"]
    assert queue_depth(sqs, dlq) == 3
    assert queue_depth(sqs, url) == 0


def test_api_write_when_backup_down_is_queued_and_synced(api, db, platform, poller):
    _, token = api.user("someone@example.com")
    client = platform.backup.table.meta.client
    hook = _fail_calls(client, "PutItem", every=1, code="InternalServerError")
    thing = api.thing(token, name="late")
    client.meta.events.unregister("before-call.dynamodb.PutItem", hook)
    assert platform.backup.get(f"thing#{thing['id']}", "thing") is None
    poller.drain()
    item = platform.backup.get(f"thing#{thing['id']}", "thing")
    assert item["name"] == "late"


def test_api_write_when_postgres_down_is_a_clean_503(api, db, platform, pg_proxy):
    _, token = api.user("someone@example.com")
    pg_proxy.down()
    r = api.call("POST", "/channels", {"name": "never"}, token)
    heal(pg_proxy, platform)
    assert r.status_code == 503
    assert r.json["error"] == "service unavailable"
    assert list(platform.backup.scan("channel")) == []
    assert queue_depth(platform.queue.client, platform.queue.url) == 0
