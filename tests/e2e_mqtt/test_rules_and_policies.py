"""The pieces the broker stands on, without a broker: IoT SQL subset, policy documents, the authorizer."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from chalicelib.errors import Unauthenticated
from chalicelib.iot import policies
from chalicelib.iot.authorizer import authorize
from devstack.broker.policy import PolicySet
from devstack.broker.rules import ActionFailed, Message, Rule, RuleEngine, SqlError, load_rules, topic_matches

ROOT = Path(__file__).resolve().parents[2]
CH = "11111111-2222-3333-4444-555555555555"
THING = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def test_the_ingest_rule_carries_any_payload_and_skips_api_copies():
    (rule,) = load_rules(ROOT / "iot_rules")
    spec = json.loads((ROOT / "iot_rules" / "ingest.json").read_text())["TopicRulePayload"]
    assert spec["AwsIotSqlVersion"] == "2016-03-23"
    assert spec["Actions"] == [{"Sqs": {"QueueUrl": "${IngestQueueUrl}", "RoleArn": "${IotRuleRoleArn}",
                                        "UseBase64": False}}]
    assert spec["ErrorAction"]["Sqs"]["QueueUrl"] == "${RetryQueueUrl}"
    raw = b'[{"bn":"a:","n":"t","v":1}]\x00\xff'  # not even JSON: still carried byte for byte
    event = rule.select(Message(f"channels/{CH}/messages/room/1", raw, THING, "certid", 1700000000123))
    assert event == {"payload": base64.b64encode(raw).decode(), "topic": f"channels/{CH}/messages/room/1",
                     "client_id": THING, "principal": "certid", "received_at": 1700000000123}
    assert rule.select(Message(f"channels/{CH}/messages", b"{}", THING, "p")) is not None
    assert rule.select(Message(f"channels/{CH}/messages", b"{}", "n/a", "AROA:api")) is None
    assert rule.select(Message(f"channels/{CH}/other", b"{}", THING, "p")) is None


def test_sqs_actions_and_the_error_action_in_iot_core_shape():
    (rule,) = load_rules(ROOT / "iot_rules")
    sent, down = [], set()

    def send(url: str, body: str) -> None:
        if url in down:
            raise ConnectionError(f"{url} is down")
        sent.append((url, body))

    engine = RuleEngine([rule], {"${IngestQueueUrl}": "q/ingest", "${RetryQueueUrl}": "q/retry"}, send)
    msg = Message(f"channels/{CH}/messages", b"\x00raw", THING, "certid", 1700000000123)
    assert engine.process(msg) == 1
    assert sent == [("q/ingest", json.dumps(rule.select(msg)))]

    sent.clear()
    down.add("q/ingest")
    engine.process(msg)
    ((url, body),) = sent
    error = json.loads(body)
    assert url == "q/retry" and error.pop("cloudwatchTraceId")
    assert error == {"ruleName": "choovio_ingest", "topic": msg.topic, "clientId": THING,
                     "base64OriginalPayload": base64.b64encode(b"\x00raw").decode(),
                     "failures": [{"failedAction": "SqsAction", "failedResource": "q/ingest",
                                   "errorMessage": "Failed to send message to SQS: q/ingest is down"}]}

    down.add("q/retry")  # nowhere to keep it: the broker must not acknowledge
    with pytest.raises(ActionFailed):
        engine.process(msg)
    assert engine.process(Message(f"channels/{CH}/other", b"{}", THING, "p")) == 0  # no rule: nothing to fail

    with pytest.raises(SqlError, match="no local queue"):
        RuleEngine([rule], {"${IngestQueueUrl}": "q/ingest"}, send)
    lambda_rule = Rule("r", "SELECT * FROM 'a'", [{"Lambda": {"FunctionArn": "${F}"}}])
    with pytest.raises(SqlError, match="only Sqs"):
        RuleEngine([lambda_rule], {}, send)
    b64 = Rule("r", "SELECT x FROM 'a'", [{"Sqs": {"QueueUrl": "${Q}", "UseBase64": True}}])
    sent.clear()
    RuleEngine([b64], {"${Q}": "q/b64"}, send).process(Message("a", b'{"x": 1}', "c", "p"))
    assert sent == [("q/b64", base64.b64encode(b'{"x": 1}').decode())]


def test_sql_subset_semantics():
    rule = Rule("r", "SELECT temp, topic(2) AS ch, clientid() AS c FROM 'a/+/#' "
                     "WHERE (temp > 50 OR force = true) AND NOT isUndefined(temp)", [])
    assert rule.select(Message("a/b/c", b'{"temp": 60}', "x", "p")) == {"temp": 60, "ch": "b", "c": "x"}
    assert rule.select(Message("a/b", b'{"temp": 60}', "x", "p")) == {"temp": 60, "ch": "b", "c": "x"}
    assert rule.select(Message("a/b/c", b'{"temp": 10}', "x", "p")) is None
    assert rule.select(Message("a/b/c", b'{"force": true}', "x", "p")) is None  # Undefined is not true
    assert rule.select(Message("a/b/c", b"not json", "x", "p")) is None
    with pytest.raises(SqlError):
        Rule("r", "SELECT * FROM 'a' WHERE", [])
    assert topic_matches("a/#", "a") and topic_matches("a/+/c", "a/b/c") and not topic_matches("a/+", "a/b/c")


def test_policy_documents_allow_own_client_id_and_connected_channels_only():
    other = "99999999-2222-3333-4444-555555555555"
    prefix = "arn:aws:iot:us-east-1:123456789012:"
    docs = policies.thing_policy_documents(THING, [CH], policies.arn_prefix("*", "*"))
    p = PolicySet(docs)
    assert p.allows("iot:Connect", f"{prefix}client/{THING}")
    assert not p.allows("iot:Connect", f"{prefix}client/{other}")
    assert p.allows("iot:Publish", f"{prefix}topic/channels/{CH}/messages")
    assert p.allows("iot:Publish", f"{prefix}topic/channels/{CH}/messages/a/b")
    assert p.allows("iot:Subscribe", f"{prefix}topicfilter/channels/{CH}/messages/#")
    assert p.allows("iot:Receive", f"{prefix}topic/channels/{CH}/messages/x")
    assert not p.allows("iot:Publish", f"{prefix}topic/channels/{other}/messages")
    assert not p.allows("iot:Subscribe", f"{prefix}topicfilter/#")
    assert not p.allows("iot:Publish", f"{prefix}topic/channels/{CH}/messagesX")
    deny = PolicySet(docs + [{"Statement": [{"Effect": "Deny", "Action": "iot:*", "Resource": "*"}]}])
    assert not deny.allows("iot:Connect", f"{prefix}client/{THING}")


def test_many_channels_split_into_documents_under_iot_core_limit():
    channels = [f"{i:08d}-2222-3333-4444-555555555555" for i in range(40)]
    docs = policies.thing_policy_documents(THING, channels, policies.arn_prefix("eu-west-1", "123456789012"))
    assert len(docs) > 1
    assert all(len(json.dumps(d, separators=(",", ":"))) <= policies.MAX_DOCUMENT_CHARS for d in docs)
    p = PolicySet(docs)
    assert all(p.allows("iot:Publish", f"arn:aws:iot:eu-west-1:123456789012:topic/channels/{c}/messages")
               for c in channels)


class _Things:
    def __init__(self, thing):
        self.thing = thing

    def identify(self, key):
        if key != "the-key":
            raise Unauthenticated("invalid thing key")
        return self.thing


class _Store:
    def list_channels(self, query, viewer, thing_id, connected):
        return SimpleNamespace(items=[SimpleNamespace(id=CH)])


def _event(username, password, client_id=THING):
    return {"protocolData": {"mqtt": {"username": username, "clientId": client_id,
                                      "password": base64.b64encode(password.encode()).decode()}}}


def test_authorizer_answers_iot_core_shape():
    things = _Things(SimpleNamespace(id=THING))
    ok = authorize(_event(f"{THING}?x-amz-customauthorizer-name=choovio-things", "the-key"), things, _Store())
    assert ok["isAuthenticated"] is True and ok["principalId"].isalnum()
    assert 300 <= ok["refreshAfterInSeconds"] <= 86400 and 300 <= ok["disconnectAfterInSeconds"] <= 86400
    assert PolicySet(ok["policyDocuments"]).allows("iot:Publish", f"arn:aws:iot:us-east-1:1:topic/channels/{CH}/messages")
    assert authorize(_event(THING, "wrong"), things, _Store()) == {"isAuthenticated": False}
    assert authorize(_event("someone-else", "the-key"), things, _Store()) == {"isAuthenticated": False}
    assert authorize({"protocolData": {}}, things, _Store()) == {"isAuthenticated": False}


def test_synced_store_resyncs_the_things_a_change_touches():
    from chalicelib.entities import Channel, Connection, Thing
    from chalicelib.iot.sync_store import IotSyncedStore

    calls, inner = [], SimpleNamespace(
        save_things=lambda things: things, delete_thing=lambda _id: None, save_channels=lambda cs: cs,
        delete_channel=lambda _id: None, connect=lambda cs: cs, disconnect=lambda cs: cs, get_thing=lambda _id: "t")
    store = IotSyncedStore(inner, sync=calls.append, things_on=lambda chans: [f"on-{c}" for c in chans])
    store.save_things([Thing(id="t1", owner_id="u", key="k")])
    store.delete_thing("t2")
    store.save_channels([Channel(id="c1", owner_id="u")])
    store.delete_channel("c2")
    store.connect([Connection(channel_id="c", thing_id="t3"), Connection(channel_id="d", thing_id="t3")])
    store.disconnect([Connection(channel_id="c", thing_id="t4")])
    assert calls == [["t1"], ["t2"], ["on-c1"], ["on-c2"], ["t3"], ["t4"]]
    assert store.get_thing("x") == "t"  # reads pass through

    def boom(_ids):
        raise RuntimeError("IoT down")

    IotSyncedStore(inner, sync=boom).connect([Connection(channel_id="c", thing_id="t")])  # logged, not raised
