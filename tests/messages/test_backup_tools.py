"""verify / repair in both directions, and the admin routes over the dead-letter queue."""
from __future__ import annotations

import json
import os
import time

import psycopg

from tests.messages.helpers import backup_items, pg_count, queue_depth, rule_event, senml

NOW = time.time()


def _world(api, platform):
    _, token = api.user("owner@example.com")
    thing = api.thing(token, name="sensor")
    channel = api.channel(token, name="room")
    api.call("POST", "/connect", {"thing_id": thing["id"], "channel_id": channel["id"]}, token)
    for i in range(5):
        assert platform.ingestor.ingest(rule_event(channel["id"], thing["id"], senml(4, NOW - 1000 + i * 10))
                                        ).status == "stored"
    return token, thing, channel


def test_verify_finds_drift_both_ways_and_repair_fixes_it(api, db, platform):
    token, thing, channel = _world(api, platform)
    verifier = platform.backup_admin.verifier
    assert verifier.verify().total == 0
    # It says what it compared: no drift over these 20 records, not over nothing.
    assert verifier.verify(channel=channel["id"]).summary()["checked"] == {"channels": 1, "messages": 20,
                                                                            "entities": 0}
    assert verifier.verify().checked["entities"] >= 4  # the user, thing, channel and connection at least

    # Drift: two records vanish from the backup, three rows from PostgreSQL, and PostgreSQL loses the thing.
    gone_from_backup = backup_items(platform.backup, "msgs", channel["id"])[-2:]  # the newest two
    for item in gone_from_backup:
        platform.backup.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY time LIMIT 3)")
        conn.execute("DELETE FROM things WHERE id = %s", (thing["id"],))

    report = verifier.verify()
    drift = report.messages[f"messages#{channel['id']}"]
    assert sorted(drift.only_in_postgres) == sorted(i["id"] for i in gone_from_backup)
    assert len(drift.only_in_backup) == 3
    assert f"thing#{thing['id']}" in report.entities.only_in_backup
    assert f"connection#{channel['id']}#{thing['id']}" in report.entities.only_in_backup

    copied = verifier.repair(report)
    assert copied["to_backup"] == 2
    assert copied["to_postgres"] == 3 + 2  # three records, the thing and its connection
    assert verifier.verify().total == 0
    assert pg_count(db, channel=channel["id"]) == 20
    assert len(backup_items(platform.backup, "msgs", channel["id"])) == 20
    # The restored thing still authenticates with its original key (decrypted from the backup).
    r = api.call("POST", f"/channels/{channel['id']}/messages", raw=json.dumps(senml(1, NOW)),
                 headers={"Content-Type": "application/senml+json",
                          "Authorization": f"Thing {thing['credentials']['secret']}"})
    assert r.status_code == 202, r.json


def test_admin_routes_health_verify_and_redrive(api, db, platform, admin_token):
    token, _, _ = _world(api, platform)
    assert api.call("GET", "/admin/backup/health", token=token).status_code == 403
    sqs = platform.queue.client
    dlq = os.environ["DEAD_LETTER_QUEUE_URL"]
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"kind": "mystery"}))

    r = api.call("GET", "/admin/backup/health", token=admin_token)
    assert r.status_code == 200, r.json
    assert r.json["dead_letter_depth"] == 1
    assert r.json["dead_letters"][0]["body"] == {"kind": "mystery"}
    assert r.json["last_verify"] is None

    r = api.call("POST", "/admin/backup/verify", token=admin_token)
    assert r.status_code == 200 and r.json["drift"] == 0
    assert api.call("GET", "/admin/backup/health", token=admin_token).json["last_verify"]["drift"] == 0

    r = api.call("POST", "/admin/backup/redrive", token=admin_token)
    assert r.json == {"redriven": 1}
    assert queue_depth(sqs, dlq) == 0
    assert queue_depth(sqs, platform.queue.url) == 1


def test_verify_covers_every_storable_time(api, db, platform):
    # SenML times run to the year 9999; the default range of verify must reach them.
    token, thing, channel = _world(api, platform)
    far = 253_402_300_000.0  # 9999-12-31
    assert platform.ingestor.ingest(rule_event(channel["id"], thing["id"], senml(2, far))).status == "stored"
    verifier = platform.backup_admin.verifier
    assert verifier.verify().total == 0  # both stores hold them: no false drift
    for item in backup_items(platform.backup, "msgs", channel["id"]):
        if float(item["time"]) >= far:
            platform.backup.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    drift = verifier.verify().messages[f"messages#{channel['id']}"]
    assert len(drift.only_in_postgres) == 2 and not drift.only_in_backup
