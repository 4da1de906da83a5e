"""Ingestion over HTTP and from the topic rule, into PostgreSQL and the DynamoDB backup."""
from __future__ import annotations

import json
import time

from tests.messages.helpers import backup_items, pg_count, rule_event, senml

NOW = time.time()


def _setup(api):
    _, token = api.user("owner@example.com")
    thing = api.thing(token, name="sensor")
    channel = api.channel(token, name="room")
    r = api.call("POST", "/connect", {"thing_id": thing["id"], "channel_id": channel["id"]}, token)
    assert r.status_code == 201
    return token, thing, channel


def _publish(api, channel_id, key, payload, content_type="application/senml+json", subtopic=""):
    path = f"/channels/{channel_id}/messages" + (f"/{subtopic}" if subtopic else "")
    return api.call("POST", path, raw=json.dumps(payload), token=f"Thing {key}",
                    headers={"Content-Type": content_type})


def test_http_senml_lands_in_both_stores_once(api, platform, db):
    _, thing, channel = _setup(api)
    key = thing["credentials"]["secret"]
    pack = senml(5, NOW - 60)
    for _ in range(2):  # a client retrying the same pack must not double anything
        r = _publish(api, channel["id"], key, pack)
        assert r.status_code == 202, r.json
        assert r.json["records"] == 5
    assert pg_count(db, channel=channel["id"]) == 5
    items = backup_items(platform.backup, "msgs", channel["id"])
    assert len(items) == 5
    assert sorted(float(i["value"]) for i in items) == [20.0, 21.0, 22.0, 23.0, 24.0]
    assert {i["name"] for i in items} == {"dev:temp"}


def test_plain_json_and_subtopic(api, platform, db):
    _, thing, channel = _setup(api)
    r = _publish(api, channel["id"], thing["credentials"]["secret"], {"temp": 21.5, "door": "open"},
                 content_type="application/json", subtopic="floor1.room2")
    assert r.status_code == 202, r.json
    assert pg_count(db, "json_messages", channel["id"]) == 1
    [item] = backup_items(platform.backup, "json", channel["id"])
    assert item["subtopic"] == "floor1.room2"
    assert json.loads(item["payload"]) == {"temp": 21.5, "door": "open"}


def test_bare_key_and_basic_auth_are_accepted(api, platform, db):
    import base64

    _, thing, channel = _setup(api)
    key = thing["credentials"]["secret"]
    basic = "Basic " + base64.b64encode(f"{thing['id']}:{key}".encode()).decode()
    for auth in (key, basic):
        r = api.call("POST", f"/channels/{channel['id']}/messages", raw=json.dumps(senml(1, NOW)),
                     headers={"Content-Type": "application/senml+json", "Authorization": auth})
        assert r.status_code == 202, (auth[:6], r.json)


def test_rejections_are_refused_recorded_and_not_stored(api, platform, db):
    token, thing, channel = _setup(api)
    stranger = api.thing(token, name="not-connected")
    cases = [
        (thing["credentials"]["secret"], [{"n": "x", "v": 1, "vs": "two values"}], 400, "exactly one"),
        (thing["credentials"]["secret"], [{"n": "bad name!", "v": 1}], 400, "name"),
        (stranger["credentials"]["secret"], senml(1, NOW), 403, "not connected"),
        ("wrong-key-" + "x" * 20, senml(1, NOW), 401, "invalid thing key"),
    ]
    for key, payload, status, reason in cases:
        r = _publish(api, channel["id"], key, payload)
        assert r.status_code == status, (payload, r.json)
        assert reason in r.json["message"]
    assert pg_count(db, channel=channel["id"]) == 0
    assert backup_items(platform.backup, "msgs", channel["id"]) == []
    r = api.call("GET", f"/channels/{channel['id']}/rejections", token=token)
    assert r.status_code == 200
    # The wrong key never reaches the pipeline (no publisher to blame); the other three are recorded.
    assert r.json["total"] == 3
    assert any("not connected" in x["reason"] for x in r.json["rejections"])


def test_oversized_message_is_refused(api, platform, db):
    _, thing, channel = _setup(api)
    big = [{"n": "blob", "vs": "x" * (129 * 1024)}]
    r = _publish(api, channel["id"], thing["credentials"]["secret"], big)
    assert r.status_code == 413
    assert pg_count(db) == 0


def test_rule_event_ingestion_and_good_messages_around_poison(api, platform, db):
    _, thing, channel = _setup(api)
    events = [
        rule_event(channel["id"], thing["id"], senml(3, NOW - 100)),
        rule_event(channel["id"], thing["id"], b"{not json"),
        rule_event(channel["id"], "not-a-thing", senml(2, NOW)),
        rule_event(channel["id"], thing["id"], senml(3, NOW - 50, start=10)),
    ]
    outcomes = [platform.ingestor.ingest(e).status for e in events]
    assert outcomes == ["stored", "rejected", "rejected", "stored"]
    assert pg_count(db, channel=channel["id"]) == 6
    assert len(backup_items(platform.backup, "msgs", channel["id"])) == 6


def test_disabled_thing_and_channel_are_refused(api, platform, db):
    token, thing, channel = _setup(api)
    api.call("POST", f"/things/{thing['id']}/disable", token=token)
    assert platform.ingestor.ingest(rule_event(channel["id"], thing["id"], senml(1, NOW))).status == "rejected"
    api.call("POST", f"/things/{thing['id']}/enable", token=token)
    api.call("POST", f"/channels/{channel['id']}/disable", token=token)
    assert platform.ingestor.ingest(rule_event(channel["id"], thing["id"], senml(1, NOW))).status == "rejected"
    assert pg_count(db) == 0


def test_entities_are_mirrored_to_the_backup(api, platform):
    token, thing, channel = _setup(api)
    b = platform.backup
    assert b.get(f"thing#{thing['id']}", "thing")["name"] == "sensor"
    assert b.get(f"channel#{channel['id']}", "channel")["name"] == "room"
    assert b.get(f"channel#{channel['id']}", f"thing#{thing['id']}") is not None
    assert b.get(f"thing#{thing['id']}", f"channel#{channel['id']}") is not None
    api.call("PATCH", f"/things/{thing['id']}", {"name": "renamed"}, token)
    assert b.get(f"thing#{thing['id']}", "thing")["name"] == "renamed"
    old_hash = b.get(f"thing#{thing['id']}", "thing")["key_hash"]
    api.call("PATCH", f"/things/{thing['id']}/secret", {}, token)
    assert b.get(f"thingkey#{old_hash}", "thingkey") is None  # a rotated key stops working in degraded mode
    api.call("DELETE", f"/things/{thing['id']}", token=token)
    assert b.get(f"thing#{thing['id']}", "thing") is None
    assert b.get(f"channel#{channel['id']}", f"thing#{thing['id']}") is None
    api.call("DELETE", f"/channels/{channel['id']}", token=token)
    assert b.get(f"channel#{channel['id']}", "channel") is None
