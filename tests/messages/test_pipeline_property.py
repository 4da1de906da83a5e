"""Property: whatever devices send, a batch never fails. Each message is stored in both stores
or rejected with a reason, through the real pipeline into PostgreSQL and the (moto) backup.

The unit properties (tests/unit/test_senml.py) cover normalization; this one covers what the
stores accept, over the whole range of doubles and texts, where the backup's number type and
PostgreSQL's limits live.
"""
from __future__ import annotations

import json
import time

import psycopg
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.messages.helpers import backup_items, rule_event

NOW = time.time()

# Any finite double, with the edges of DynamoDB's numbers (1E-130 to 9.99E+125) and of doubles.
doubles = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1e126, -1e200, 1e-131, 5e-324, 1.7976931348623157e308, 9.9e125, 1e-130])
texts = st.text(max_size=8)
names = st.text(alphabet="ab1:./_-", min_size=1, max_size=8) | st.sampled_from(["a" * 1024, "b" * 1025, "c" * 3000])
records = st.fixed_dictionaries({}, optional={
    "bn": names, "n": names, "bt": doubles | st.just(NOW), "t": doubles | st.integers(-10, 10),
    "bu": texts, "u": texts, "bv": doubles, "bs": doubles, "v": doubles, "s": doubles, "vs": texts,
    "vb": st.booleans(), "vd": st.sampled_from(["aGk", "!!"]), "ut": doubles,
})
# Mostly well-formed records (so that most reach the stores), with any double and any text.
one_value = (st.fixed_dictionaries({"v": doubles}) | st.fixed_dictionaries({"s": doubles})
             | st.fixed_dictionaries({"vs": texts}) | st.fixed_dictionaries({"vb": st.booleans()}))
well_formed = st.tuples(st.fixed_dictionaries({"n": names}), one_value, st.fixed_dictionaries({}, optional={
    "t": doubles | st.integers(-10, 10), "u": texts, "ut": doubles})).map(lambda p: {**p[0], **p[1], **p[2]})
documents = st.dictionaries(texts, st.none() | st.booleans() | doubles | st.integers() | texts, max_size=4)
SENML = "application/senml+json"
# (content type, payload): HTTP names the type; on MQTT ("") the payload's shape decides.
payloads = st.one_of(
    st.tuples(st.sampled_from([SENML, ""]), st.lists(well_formed, min_size=1, max_size=4)),
    st.tuples(st.just(SENML), st.lists(records, min_size=1, max_size=4)),
    st.tuples(st.sampled_from(["application/json", ""]), documents | st.lists(documents, min_size=1, max_size=2)),
)


def _stored_ids(db: str, table: str, channel: str) -> set[str]:
    with psycopg.connect(db) as conn:
        return {str(r[0]) for r in conn.execute(f"SELECT id FROM {table} WHERE channel = %s", (channel,))}


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(payloads, min_size=1, max_size=4))
# Pinned: values beyond DynamoDB's numbers, a name too long for PostgreSQL's index, and a time
# beyond the backup's sort key (PostgreSQL took it, the backup's key overflowed).
@example(batch=[(SENML, [{"n": "big", "v": 1e200}, {"n": "small", "v": -1e-300}, {"n": "sum", "s": 1e300}]),
                (SENML, [{"n": "x" * 3000, "v": 1.0}]), ("", {"deep": 1e300}),
                (SENML, [{"bt": 1.7976931348623157e308, "bn": "1", "vd": "aGk"}])])
def test_any_batch_is_stored_in_both_stores_or_rejected(db, platform, fleet, batch):
    _, (a, _, _), channel = fleet
    bodies = [json.dumps({**rule_event(channel["id"], a["id"], p), "content_type": t}) for t, p in batch]
    counts = platform.ingestor.ingest_bodies(bodies)  # never raises
    assert set(counts) <= {"stored", "rejected"} and sum(counts.values()) == len(bodies)
    for table, prefix in (("messages", "msgs"), ("json_messages", "json")):
        assert _stored_ids(db, table, channel["id"]) == {i["id"] for i in backup_items(platform.backup, prefix,
                                                                                       channel["id"])}
