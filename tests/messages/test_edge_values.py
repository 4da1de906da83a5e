"""What a store cannot hold never sinks a batch: values at the edges of DynamoDB's numbers are
stored exactly in both stores, and a message PostgreSQL refuses is rejected alone while the
good messages around it are stored (at ingestion and on replay)."""
from __future__ import annotations

import json
import time

import psycopg
import pytest

from chalicelib.backup import items
from tests.messages.helpers import assert_exact, backup_items, heal, pg_count, rule_event, senml

NOW = time.time()


def _body(channel, thing, payload) -> str:
    return json.dumps(rule_event(channel["id"], thing["id"], payload))


@pytest.fixture
def poison_refused(db):
    """PostgreSQL itself refuses records named dev:poison (a CHECK constraint): a refusal that
    normalization cannot see coming, like any limit of the database."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("ALTER TABLE messages ADD CONSTRAINT test_poison CHECK (name <> 'dev:poison')")
    yield
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("ALTER TABLE messages DROP CONSTRAINT test_poison")


def test_doubles_beyond_dynamodb_numbers_are_stored_exactly_in_both(db, platform, fleet):
    _, (a, _, _), channel = fleet
    values = {"huge": 1e200, "tiny": -1e-300, "largest": 1.7976931348623157e308, "third": 0.1 + 0.2, "zero": 0.0}
    packs = [[{"bn": "dev:", "n": name, "t": NOW - i, "v": v}] for i, (name, v) in enumerate(values.items())]
    packs.append([{"bn": "dev:", "n": "sum", "t": NOW - 10, "s": 1e300}])
    counts = platform.ingestor.ingest_bodies([_body(channel, a, p) for p in packs])
    assert counts == {"stored": len(packs)}
    assert_exact(db, platform, channel, len(packs))
    restored = {r["name"]: r for r in map(items.row_from_senml_item, backup_items(platform.backup, "msgs",
                                                                                  channel["id"]))}
    assert {n: restored[f"dev:{n}"]["value"] for n in values} == values
    assert restored["dev:sum"]["sum"] == 1e300


def test_a_name_too_long_to_index_is_rejected_with_its_reason(db, platform, fleet):
    _, (a, _, _), channel = fleet
    good = [_body(channel, a, senml(3, NOW - 100 + i * 10)) for i in range(3)]
    long = _body(channel, a, [{"n": "x" * 3000, "t": NOW, "v": 1.0}])
    assert platform.ingestor.ingest_bodies(good[:2] + [long] + good[2:]) == {"stored": 3, "rejected": 1}
    assert_exact(db, platform, channel, 9)
    (rejected,) = platform.ingestor.writer.rejections(channel["id"], 0, 10)[1]
    assert "longer than 1024 characters" in rejected["reason"]


def test_a_message_postgres_refuses_is_rejected_alone(db, platform, fleet, poison_refused):
    _, (a, b, _), channel = fleet
    good = [_body(channel, (a, b)[i % 2], senml(4, NOW - 1000 + i * 10)) for i in range(6)]
    poison = _body(channel, a, senml(2, NOW - 50, name="poison"))
    counts = platform.ingestor.ingest_bodies(good[:3] + [poison] + good[3:])
    assert counts == {"stored": 6, "rejected": 1}
    assert_exact(db, platform, channel, 6 * 4)  # and nothing of the poison in the backup either
    (rejected,) = platform.ingestor.writer.rejections(channel["id"], 0, 10)[1]
    assert "test_poison" in rejected["reason"]
    # A refusal is not an outage: PostgreSQL still answers at once.
    assert platform.store.get_user("00000000-0000-0000-0000-000000000000") is None


def test_http_publish_of_a_refused_message_answers_400(api, db, platform, fleet, poison_refused):
    _, (a, _, _), channel = fleet
    r = api.call("POST", f"/channels/{channel['id']}/messages", raw=json.dumps(senml(2, NOW, name="poison")),
                 headers={"Content-Type": "application/senml+json",
                          "Authorization": f"Thing {a['credentials']['secret']}"})
    assert r.status_code == 400 and "test_poison" in r.json["message"], r.json
    assert pg_count(db, channel=channel["id"]) == 0


def test_a_replayed_batch_with_a_refused_message_stores_the_others(db, platform, fleet, pg_proxy, poller,
                                                                    poison_refused):
    _, (a, _, _), channel = fleet
    good = [_body(channel, a, senml(4, NOW - 1000 + i * 10)) for i in range(4)]
    poison = _body(channel, a, senml(2, NOW - 50, name="poison"))
    pg_proxy.down()
    assert platform.ingestor.ingest_bodies(good + [poison]) == {"queued": 5}  # refused only once PG answers
    heal(pg_proxy, platform)
    poller.drain()
    assert pg_count(db, channel=channel["id"]) == 4 * 4
    (rejected,) = platform.ingestor.writer.rejections(channel["id"], 0, 10)[1]
    assert "test_poison" in rejected["reason"]
    # The backup took all five while PostgreSQL was down; verify shows the refused records as drift.
    drift = platform.backup_admin.verifier.verify(channel=channel["id"]).messages[f"messages#{channel['id']}"]
    assert len(drift.only_in_backup) == 2 and drift.only_in_postgres == []


def test_a_database_error_that_is_not_the_messages_fault_queues_the_batch(db, platform, fleet, pg_proxy, poller):
    # PostgreSQL answers every insert with "read-only transaction" (25006), as a writer endpoint
    # does for a moment after a failover: nothing may be rejected, everything is retried.
    _, (a, _, _), channel = fleet
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION test_read_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                     " RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction'"
                     " USING ERRCODE = '25006'; END $$")
        conn.execute("CREATE TRIGGER test_read_only BEFORE INSERT ON messages"
                     " FOR EACH ROW EXECUTE FUNCTION test_read_only()")
    try:
        bodies = [_body(channel, a, senml(3, NOW - 100 + i * 10)) for i in range(4)]
        assert platform.ingestor.ingest_bodies(bodies) == {"queued": 4}
        assert pg_count(db, table="rejected_messages", channel=channel["id"]) == 0
    finally:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("DROP TRIGGER test_read_only ON messages")
            conn.execute("DROP FUNCTION test_read_only()")
    heal(pg_proxy, platform)  # past the fail-fast window the read-only answer opened
    poller.drain()
    assert_exact(db, platform, channel, 4 * 3)
