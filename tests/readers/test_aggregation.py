"""Aggregation in PostgreSQL, checked against the same buckets computed here in plain Python."""
from __future__ import annotations

import csv
import io
import math
import random
from collections import defaultdict

import pytest

from tests.readers.helpers import get_text, insert, path, senml

MONDAY = 1_704_067_200.0  # 2024-01-01T00:00Z
FROM, TO = MONDAY + 3 * 3600 + 0.5, MONDAY + 40 * 3600
STEPS = {"1h": 3600, "15m": 900, "1d": 86400, "90m": 5400}
FUNCTIONS = {
    "MIN": min, "MAX": max, "COUNT": len, "SUM": math.fsum, "AVG": lambda vs: math.fsum(vs) / len(vs),
}


@pytest.fixture
def readings(world, db):
    rnd = random.Random(7)
    pub = world.thing["id"]
    rows = []
    for _ in range(600):
        t = MONDAY + rnd.uniform(0, 48 * 3600)
        name = rnd.choice(["temp", "hum"])
        rows.append(senml(world.channel, pub, t, name=name, value=round(rnd.uniform(-20, 40), 3)))
    rows.append(senml(world.channel, pub, MONDAY + 5 * 3600, name="temp", value=0.0))
    rows.append(senml(world.channel, pub, MONDAY + 5 * 3600 + 1, name="temp", string_value="n/a"))  # no value
    rows.append(senml(world.channel, pub, MONDAY + 6 * 3600, name="flag", bool_value=False))
    rows.append(senml(world.channel, pub, FROM, name="temp", value=99.0))  # exactly at from: inside
    rows.append(senml(world.channel, pub, TO, name="temp", value=-99.0))  # exactly at to: outside
    insert(db, rows)
    return rows


def expected(rows, fn, step, frm=FROM, to=TO, keep=lambda r: True):
    groups = defaultdict(list)
    for r in rows:
        if r["value"] is None or not frm <= r["time"] < to or not keep(r):
            continue
        groups[(math.floor(r["time"] / step) * step, r["name"])].append(r["value"])
    out = [{"time": t, "name": n, "value": FUNCTIONS[fn](vs)} for (t, n), vs in groups.items()]
    return sorted(out, key=lambda b: (-b["time"], b["name"]))


def assert_buckets(got, want):
    assert [(b["time"], b["name"]) for b in got] == [(b["time"], b["name"]) for b in want]
    for g, w in zip(got, want):
        assert g["value"] == pytest.approx(w["value"], rel=1e-12, abs=1e-9), (g, w)


@pytest.mark.parametrize("interval", list(STEPS))
@pytest.mark.parametrize("fn", list(FUNCTIONS))
def test_each_function_and_interval(api, world, readings, fn, interval):
    r = api.call("GET", path(world.channel, aggregation=fn, interval=interval, **{"from": FROM, "to": TO},
                             limit=1000), token=world.owner.token)
    assert r.status_code == 200, r.json
    want = expected(readings, fn, STEPS[interval])
    assert r.json["aggregation"] == fn and r.json["interval"] == interval
    assert r.json["total"] == len(want)
    assert_buckets(r.json["messages"], want)
    if fn == "COUNT":
        assert all(isinstance(b["value"], int) for b in r.json["messages"])


def test_widest_range_gives_the_same_buckets(api, world, readings):
    # Only buckets holding rows come back, so no range is too wide (from/to are any finite numbers).
    widest = {"from": -1.7976931348623157e308, "to": 1.7976931348623157e308}
    r = api.call("GET", path(world.channel, aggregation="COUNT", interval="1d", limit=1000, **widest),
                 token=world.owner.token)
    assert r.status_code == 200, r.json
    assert_buckets(r.json["messages"], expected(readings, "COUNT", 86400, -math.inf, math.inf))


def test_one_day_average_by_hour_with_filters(api, world, readings):
    day = {"from": MONDAY, "to": MONDAY + 86400}
    r = api.call("GET", path(world.channel, aggregation="avg", interval="1h", name="temp", v=0, comparator="gt",
                             limit=100, **day), token=world.owner.token)
    assert r.status_code == 200, r.json
    want = expected(readings, "AVG", 3600, day["from"], day["to"],
                    keep=lambda row: row["name"] == "temp" and row["value"] > 0)
    assert len(want) > 20 and {b["name"] for b in r.json["messages"]} == {"temp"}
    assert_buckets(r.json["messages"], want)


def test_buckets_page_with_offset_and_limit(api, world, readings):
    want = expected(readings, "MAX", 3600)
    got = []
    for offset in range(0, len(want), 7):
        r = api.call("GET", path(world.channel, aggregation="MAX", interval="1h", offset=offset, limit=7,
                                 **{"from": FROM, "to": TO}), token=world.owner.token)
        assert r.json["total"] == len(want)
        got += r.json["messages"]
    assert_buckets(got, want)
    r = api.call("GET", path(world.channel, aggregation="MAX", interval="1h", offset=10_000,
                             **{"from": FROM, "to": TO}), token=world.owner.token)
    assert r.json["messages"] == [] and r.json["total"] == len(want)


def test_weeks_start_on_monday(api, world, db):
    pub = world.thing["id"]
    insert(db, [senml(world.channel, pub, MONDAY - 1, value=1.0),  # Sunday before
                senml(world.channel, pub, MONDAY, value=2.0),
                senml(world.channel, pub, MONDAY + 6.9 * 86400, value=4.0)])
    r = api.call("GET", path(world.channel, aggregation="SUM", interval="1w",
                             **{"from": MONDAY - 86400, "to": MONDAY + 30 * 86400}), token=world.owner.token)
    assert [(b["time"], b["value"]) for b in r.json["messages"]] == [(MONDAY, 6.0), (MONDAY - 604800, 1.0)]


def test_aggregation_only_counts_numeric_values(api, world, db):
    pub = world.thing["id"]
    insert(db, [senml(world.channel, pub, MONDAY + 1, value=0.0), senml(world.channel, pub, MONDAY + 2, value=0.0),
                senml(world.channel, pub, MONDAY + 3, string_value="x"),
                senml(world.channel, pub, MONDAY + 4, name="flag", bool_value=True)])
    r = api.call("GET", path(world.channel, aggregation="COUNT", interval="1d",
                             **{"from": MONDAY, "to": MONDAY + 86400}), token=world.owner.token)
    assert r.json["messages"] == [{"time": MONDAY, "name": "temp", "value": 2}]


def test_aggregation_as_csv(api, world, readings):
    r = get_text(api, path(world.channel, aggregation="MIN", interval="1d", format="csv",
                           **{"from": FROM, "to": TO}), world.owner.token)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == ["time", "name", "value"]
    want = expected(readings, "MIN", 86400)
    assert [(float(t), n, float(v)) for t, n, v in table[1:]] == [(b["time"], b["name"], b["value"]) for b in want]
