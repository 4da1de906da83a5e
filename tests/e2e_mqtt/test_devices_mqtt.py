"""Devices over MQTT with the real AWS IoT Device SDK v2, over TLS, against the whole local stack.

The topic rule puts each message on the ingest queue (PUBACK follows); the ingest poller stores
them a batch at a time, so storage is awaited with a timeout.
"""
from __future__ import annotations

import base64
import json
import threading
import time

import boto3
import psycopg
import pytest

def senml(value: float, name: str = "temp", t: float | None = None) -> bytes:
    return json.dumps([{"n": name, "u": "Cel", "v": value, "t": t if t is not None else time.time()}]).encode()


def topic(channel: dict, subtopic: str = "") -> str:
    return f"channels/{channel['id']}/messages" + (f"/{subtopic}" if subtopic else "")


def count(stack, sql: str, *params) -> int:
    with psycopg.connect(stack.database_url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def rows(stack, sql: str, *params) -> list[tuple]:
    with psycopg.connect(stack.database_url) as conn:
        return conn.execute(sql, params).fetchall()


def stored_by(stack, thing_id: str) -> int:
    return count(stack, "SELECT count(*) FROM messages WHERE publisher = %s", thing_id)


def peek(queue_url: str, **match) -> list[dict]:
    """JSON bodies on a queue with these fields, left there (visible again at once; one receive,
    which moto answers with everything visible, so that no receive count builds up)."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                   VisibilityTimeout=0).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in messages]
    return [b for b in bodies if all(b.get(k) == v for k, v in match.items())]


@pytest.fixture
def owner(stack):
    """A user with a channel and a thing connected to it."""
    token = stack.user()
    channel = stack.channel(token)
    thing = stack.thing(token, "sensor")
    stack.connect(token, thing["id"], channel["id"])
    return token, channel, thing


def refused_connect(stack, device) -> bool:
    try:
        stack.online(device, timeout=8)
    except Exception:
        return True
    device.disconnect()
    return False


def test_publish_over_mtls_and_password_reaches_readers_and_backup(stack, owner):
    token, channel, thing = owner
    cert = stack.certificate(token, thing["id"])
    assert "PRIVATE KEY" in cert["private_key_pem"] and cert["status"] == "active"
    assert cert["connection"]["port"] == stack.broker.port
    assert cert["connection"]["channels"][0]["publish_topic"] == topic(channel)

    over_tls = stack.online(stack.device(thing, cert))
    over_tls.publish(topic(channel), senml(21.5, "tls")).result(10)
    over_tls.disconnect()
    with_key = stack.online(stack.device(thing, key=thing["credentials"]["secret"]))
    with_key.publish(topic(channel, "room/1"), senml(22.5, "key")).result(10)
    with_key.disconnect()

    # Both were on the ingest queue when acknowledged; the poller stores them in a moment.
    assert stack.wait_for(lambda: len(stack.read_messages(token, channel["id"])) == 2)
    got = {m["name"]: m for m in stack.read_messages(token, channel["id"])}
    assert got["tls"]["value"] == 21.5 and got["tls"]["publisher"] == thing["id"] and got["tls"]["protocol"] == "mqtt"
    assert got["key"]["value"] == 22.5 and got["key"].get("subtopic") == "room.1"  # Magistrala keeps subtopics dotted
    assert stack.wait_for(lambda: sorted(i["name"] for i in stack.backup_items(channel["id"])) == ["key", "tls"])

    # The certificate can be listed and downloaded again, never with its key.
    listed = stack.call("GET", f"/things/{thing['id']}/certificates", None, token, expect=200).json()
    assert [c["id"] for c in listed["certificates"]] == [cert["id"]]
    again = stack.call("GET", f"/things/{thing['id']}/certificates/{cert['id']}", None, token, expect=200).json()
    assert again["certificate_pem"] == cert["certificate_pem"] and "private_key_pem" not in again
    # The device itself may ask how to connect, with its key.
    info = stack.call("GET", f"/things/{thing['id']}/connection", None,
                      headers={"Authorization": f"Thing {thing['credentials']['secret']}"}, expect=200).json()
    assert info["client_id"] == thing["id"] and info["ca_certificate"].startswith("-----BEGIN CERTIFICATE")


def test_refusals_store_nothing(stack, owner):
    token, channel, thing = owner
    other_channel = stack.channel(token, "elsewhere")

    # A thing connected elsewhere: may neither subscribe nor publish here (the broker closes it).
    outsider = stack.thing(token, "outsider")
    stack.connect(token, outsider["id"], other_channel["id"])
    device = stack.online(stack.device(outsider, stack.certificate(token, outsider["id"])))
    assert device.subscribe(topic(channel) + "/#", lambda *_: None) is None
    refused = device.publish(topic(channel), senml(1.0))
    assert device.interrupted.wait(5), "publishing outside its channels must close the connection"
    assert not refused.done() or refused.exception() is not None
    device.disconnect()

    # A disabled thing: refused at CONNECT, with its key and (once IoT is synced) with its certificate.
    disabled = stack.thing(token, "disabled")
    stack.connect(token, disabled["id"], channel["id"])
    disabled_cert = stack.certificate(token, disabled["id"])
    stack.call("POST", f"/things/{disabled['id']}/disable", None, token, expect=200)
    assert refused_connect(stack, stack.device(disabled, key=disabled["credentials"]["secret"]))
    from chalicelib.iot import sync_things

    sync_things([disabled["id"]])  # what the thing routes trigger after enable/disable
    assert refused_connect(stack, stack.device(disabled, disabled_cert))

    # A revoked certificate: refused, and a live connection using it is closed.
    revoked_thing = stack.thing(token, "revoked")
    stack.connect(token, revoked_thing["id"], channel["id"])
    cert = stack.certificate(token, revoked_thing["id"])
    live = stack.online(stack.device(revoked_thing, cert))
    stack.call("DELETE", f"/things/{revoked_thing['id']}/certificates/{cert['id']}", None, token, expect=200)
    assert live.interrupted.wait(5), "the broker re-checks live connections and drops revoked certificates"
    live.disconnect()
    assert refused_connect(stack, stack.device(revoked_thing, cert))

    # A wrong key, and a right key under another thing's id.
    assert refused_connect(stack, stack.device(thing, key="not-the-key-of-anything"))
    assert refused_connect(stack, stack.device(outsider, key=thing["credentials"]["secret"]))

    stack.settle()  # whatever reached the ingest queue is handled by now
    for t in (outsider, disabled, revoked_thing):
        assert stored_by(stack, t["id"]) == 0
    assert stack.pg_rows(channel["id"]) == []
    assert stack.backup_items(channel["id"]) == []


def test_subscriber_receives_mqtt_and_http_messages(stack, owner):
    token, channel, publisher = owner
    watcher = stack.thing(token, "watcher")
    stack.connect(token, watcher["id"], channel["id"])
    got: list[tuple[str, bytes]] = []
    arrived = threading.Event()

    def on_message(t: str, payload: bytes) -> None:
        got.append((t, payload))
        if len(got) >= 4:
            arrived.set()

    sub = stack.online(stack.device(watcher, key=watcher["credentials"]["secret"]))
    assert sub.subscribe(topic(channel) + "/#", on_message) == 1
    pub = stack.online(stack.device(publisher, stack.certificate(token, publisher["id"])))
    for i in range(3):
        pub.publish(topic(channel, "lab"), senml(float(i), "mqtt")).result(10)
    pub.disconnect()
    http_body = senml(9.0, "http")
    stack.call("POST", f"/channels/{channel['id']}/messages", http_body, headers={
        "Authorization": f"Thing {publisher['credentials']['secret']}", "Content-Type": "application/senml+json"},
        expect=202)
    assert arrived.wait(10), got
    sub.disconnect()
    assert [json.loads(p)[0]["v"] for _, p in got[:3]] == [0.0, 1.0, 2.0]  # in publish order
    assert got[3] == (topic(channel), http_body)
    # The forwarded copy was not ingested a second time (the rule skips clientid() = 'n/a').
    stack.settle()
    names = sorted(m["name"] for m in stack.read_messages(token, channel["id"]))
    assert names == ["http", "mqtt", "mqtt", "mqtt"]
    assert count(stack, "SELECT count(*) FROM rejected_messages WHERE channel = %s", channel["id"]) == 0


def test_1000_qos1_messages_survive_a_disconnect_right_after_the_last_puback(stack, owner):
    token, channel, thing = owner
    device = stack.online(stack.device(thing, stack.certificate(token, thing["id"])))
    base = time.time() - 3600
    futures = [device.publish(topic(channel), senml(float(i), "burst", base + i / 1000)) for i in range(1000)]
    for f in futures:
        f.result(60)
    device.connection.disconnect()  # no wait: gone right after the last PUBACK
    # Acknowledged means on the ingest queue: all get stored, with no help from the device.
    sql = "SELECT count(*) FROM messages WHERE channel = %s AND name = 'burst'"
    assert stack.wait_for(lambda: count(stack, sql, channel["id"]) == 1000, timeout=60), count(stack, sql, channel["id"])
    assert stack.wait_for(lambda: len([i for i in stack.backup_items(channel["id"]) if i["name"] == "burst"]) == 1000)


def test_puback_comes_once_the_message_is_on_the_ingest_queue(stack, owner):
    token, channel, thing = owner
    payloads = {senml(float(i), "queued") for i in range(3)}
    stack.ingest.stop()  # nothing takes messages off the ingest queue meanwhile
    try:
        device = stack.online(stack.device(thing, key=thing["credentials"]["secret"]))
        for p in payloads:
            device.publish(topic(channel, "q"), p).result(10)
        device.disconnect()
        # Acknowledged, not stored yet: each waits on the queue as the rule's SELECT result.
        bodies = peek(stack.ingest_queue, client_id=thing["id"])
        assert stored_by(stack, thing["id"]) == 0
    finally:
        stack.ingest.start()
    assert {base64.b64decode(b["payload"]) for b in bodies} == payloads
    assert all(b["topic"] == topic(channel, "q") and b["principal"] and isinstance(b["received_at"], int)
               for b in bodies)
    assert stack.wait_for(lambda: stored_by(stack, thing["id"]) == 3)


def test_a_failing_queue_send_goes_to_the_error_action(stack, owner):
    import app
    from awscrt.exceptions import AwsCrtError

    from devstack.sqs_poller import SqsPoller

    token, channel, thing = owner
    queues = stack.broker.broker.engine.queues
    saved, missing = dict(queues), stack.ingest_queue + "-missing"
    rescued, resent = senml(5.0, "rescued"), senml(6.0, "resent")
    device = stack.online(stack.device(thing, stack.certificate(token, thing["id"])))
    try:
        queues["${IngestQueueUrl}"] = missing
        device.publish(topic(channel), rescued).result(10)  # acknowledged: the error action kept it
        queues["${RetryQueueUrl}"] = missing
        unacked = device.publish(topic(channel), resent)
        assert device.interrupted.wait(10), "a message no queue took must close the connection"
        with pytest.raises(AwsCrtError):  # never acknowledged; the SDK drops it with the clean session
            unacked.result(10)
    finally:
        queues.update(saved)
    device.disconnect()
    again = stack.online(stack.device(thing, key=thing["credentials"]["secret"]))
    again.publish(topic(channel), resent).result(10)  # the device sends it again; now it gets through
    again.disconnect()

    (error,) = peek(stack.retry_queue, clientId=thing["id"])
    assert error.pop("cloudwatchTraceId")
    assert error == {"ruleName": "choovio_ingest", "topic": topic(channel), "clientId": thing["id"],
                     "base64OriginalPayload": base64.b64encode(rescued).decode(),
                     "failures": [{"failedAction": "SqsAction", "failedResource": missing,
                                   "errorMessage": error["failures"][0]["errorMessage"]}]}
    SqsPoller(stack.retry_queue, app.retry, wait_seconds=0).drain()  # the retry function replays it
    names = "SELECT name FROM messages WHERE publisher = %s ORDER BY name"
    assert stack.wait_for(lambda: [r[0] for r in rows(stack, names, thing["id"])] == ["rescued", "resent"])


def test_a_resend_after_a_lost_puback_is_stored_once(stack, owner, monkeypatch):
    from devstack.broker.server import DurableHandler

    token, channel, thing = owner
    secured = []
    original = DurableHandler.handle_publish

    async def lose_the_first_puback(handler, packet):
        if secured:
            return await original(handler, packet)
        # The message goes on the ingest queue, then the connection drops before its PUBACK.
        secured.append(await handler.broker.accept(handler.session, packet.topic_name, bytes(packet.data)))
        await handler._close()

    monkeypatch.setattr(DurableHandler, "handle_publish", lose_the_first_puback)
    # A persistent session: the SDK keeps the unacknowledged PUBLISH and sends it again (DUP) on
    # reconnect, and the broker checks the certificate of the new connection.
    accepted = stack.broker.stats["accepted"]
    device = stack.device(thing, stack.certificate(token, thing["id"]))
    device.connect(stack.broker.host, stack.broker.port, stack.broker.ca_file, clean_session=False)
    pack = json.dumps([{"bn": "dev:", "bt": time.time() - 60, "n": "resent", "v": 1.0},
                       {"n": "resent", "t": 1, "v": 2.0}]).encode()
    device.publish(topic(channel), pack).result(30)  # acknowledged only after the resend
    assert device.interrupted.is_set() and secured == [True]
    assert stack.broker.stats["accepted"] == accepted + 2
    device.disconnect()

    # The topic rule saw it twice, with two receive times; the records carry their own times,
    # so both copies name the same rows.
    stack.settle()
    sql = "SELECT count(*) FROM messages WHERE channel = %s AND name = 'dev:resent'"
    assert count(stack, sql, channel["id"]) == 2
    assert stack.wait_for(lambda: len(stack.backup_items(channel["id"])) == 2)
    time.sleep(0.5)  # a third copy would have had time to show up
    assert count(stack, sql, channel["id"]) == 2 and len(stack.backup_items(channel["id"])) == 2


@pytest.mark.parametrize("clean_session", [True, False])
def test_a_refused_connect_under_a_devices_client_id_leaves_it_alone(stack, owner, clean_session):
    token, channel, thing = owner
    device = stack.device(thing, stack.certificate(token, thing["id"]))
    device.connect(stack.broker.host, stack.broker.port, stack.broker.ca_file, clean_session=clean_session)
    got = []
    assert device.subscribe(topic(channel) + "/#", lambda t, p: got.append(p)) == 1
    # Someone who knows the thing id, not its key: refused, and the device stays connected.
    impostor = stack.device(thing, key="not-the-key")
    impostor.client_id = thing["id"]
    for _ in range(2):
        impostor.interrupted.clear()
        assert refused_connect(stack, impostor)
    time.sleep(1.5)  # past the broker's re-check of live connections
    assert not device.interrupted.is_set(), "a refused CONNECT must not take over or drop the session"
    device.publish(topic(channel, "still"), senml(1.0, "still")).result(10)
    assert stack.wait_for(lambda: len(got) == 1, timeout=10), "the subscription must survive"
    device.disconnect()
