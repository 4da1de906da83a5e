"""Filters, comparators, time ranges, paging and the response shape, against PostgreSQL."""
from __future__ import annotations

import pytest

from tests.readers.cases import ALL, CASES, dataset
from tests.readers.helpers import T0, insert, json_doc, path, senml


@pytest.fixture
def rows(world, db):
    data = dataset(world.channel, world.thing["id"])
    insert(db, list(data.values()))
    return data


def _labels(messages, rows) -> set[str]:
    by_time = {r["time"]: label for label, r in rows.items()}
    return {by_time[m["time"]] for m in messages}


@pytest.mark.parametrize("params,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_filter(api, world, rows, params, expected):
    r = api.call("GET", path(world.channel, limit=100, **params), token=world.owner.token)
    assert r.status_code == 200, r.json
    assert _labels(r.json["messages"], rows) == expected
    assert r.json["total"] == len(expected)


def test_default_page_is_ten_newest_first(api, world, rows):
    r = api.call("GET", path(world.channel), token=world.owner.token)
    assert r.status_code == 200
    assert (r.json["offset"], r.json["limit"], r.json["total"]) == (0, 10, len(ALL))
    times = [m["time"] for m in r.json["messages"]]
    assert times == sorted((row["time"] for row in rows.values()), reverse=True)[:10]


@pytest.mark.parametrize("offset,limit", [(0, 1), (0, 5), (3, 4), (10, 10), (13, 1000), (14, 5), (100, 10)])
def test_pages_walk_the_whole_set_with_a_stable_total(api, world, rows, offset, limit):
    ordered = sorted((row["time"] for row in rows.values()), reverse=True)
    r = api.call("GET", path(world.channel, offset=offset, limit=limit), token=world.owner.token)
    assert r.status_code == 200
    assert r.json["total"] == len(ALL)
    assert (r.json["offset"], r.json["limit"]) == (offset, limit)
    assert [m["time"] for m in r.json["messages"]] == ordered[offset:offset + limit]


def test_paging_with_a_filter_counts_only_matches(api, world, rows):
    r = api.call("GET", path(world.channel, name="temp", limit=3, offset=1), token=world.owner.token)
    assert r.json["total"] == 4 and len(r.json["messages"]) == 3


def test_ties_in_time_page_without_gaps_or_repeats(api, world, db):
    same = [senml(world.channel, world.thing["id"], T0, value=float(i)) for i in range(25)]
    insert(db, same)
    seen = []
    for offset in range(0, 25, 7):
        r = api.call("GET", path(world.channel, offset=offset, limit=7), token=world.owner.token)
        seen += [m["value"] for m in r.json["messages"]]
    assert sorted(seen) == [float(i) for i in range(25)]


def test_message_shape_matches_magistrala(api, world, rows):
    """Magistrala's senml.Message names; empty and null fields left out; false and 0 kept."""
    owner = world.owner.token
    (t0,) = api.call("GET", path(world.channel, v=0), token=owner).json["messages"]
    assert t0 == {"channel": world.channel, "publisher": world.thing["id"], "protocol": "mqtt", "name": "temp",
                  "unit": "Cel", "time": rows["t0"]["time"], "value": 0.0}
    (b0,) = api.call("GET", path(world.channel, vb="false"), token=owner).json["messages"]
    assert b0["bool_value"] is False and "value" not in b0 and "unit" not in b0 and "subtopic" not in b0
    (e0,) = api.call("GET", path(world.channel, name="energy"), token=owner).json["messages"]
    assert (e0["value"], e0["sum"], e0["update_time"]) == (5.0, 100.0, 60.0)
    (h0,) = api.call("GET", path(world.channel, name="hum"), token=owner).json["messages"]
    assert h0["subtopic"] == "room.a"
    (d1,) = api.call("GET", path(world.channel, vd="bbbb"), token=owner).json["messages"]
    assert d1["data_value"] == "bbbb"


def test_page_echoes_the_filters_given(api, world, rows):
    r = api.call("GET", path(world.channel, name="temp", v=0, comparator="ge", vb="false", to=T0 + 50),
                 token=world.owner.token)
    body = r.json
    assert {k: body[k] for k in ("name", "v", "comparator", "vb", "to")} == {
        "name": "temp", "v": 0.0, "comparator": "ge", "vb": False, "to": T0 + 50}
    assert "subtopic" not in body and "from" not in body


def test_other_channels_never_leak(api, world, rows, db):
    other = api.channel(world.owner.token, name="other")["id"]
    insert(db, [senml(other, world.thing["id"], T0 + 5, value=0.0)])
    r = api.call("GET", path(world.channel, v=0, limit=100), token=world.owner.token)
    assert r.json["total"] == 1
    r = api.call("GET", path(other, limit=100), token=world.owner.token)
    assert r.json["total"] == 1 and r.json["messages"][0]["channel"] == other


def test_an_empty_channel_has_an_empty_page(api, world):
    r = api.call("GET", path(world.channel), token=world.owner.token)
    assert r.status_code == 200
    assert r.json == {"offset": 0, "limit": 10, "total": 0, "messages": []}


# -- format=json ---------------------------------------------------------------------------------

@pytest.fixture
def docs(world, db):
    pub = world.thing["id"]
    data = [
        json_doc(world.channel, pub, T0 + 1, {"temp": 20, "nested": {"a": [1, 2]}}),
        json_doc(world.channel, pub, T0 + 2, {"temp": 0}, subtopic="room.a"),
        json_doc(world.channel, "0b7e8f52-3c5c-4f4e-9d0a-7a1b2c3d4e5f", T0 + 3, {"x": True}, protocol="mqtt"),
    ]
    insert(db, json_rows=data)
    insert(db, [senml(world.channel, pub, T0, value=1.0)])  # not a JSON document
    return data


def test_json_format_returns_documents_newest_first(api, world, docs):
    r = api.call("GET", path(world.channel, format="json"), token=world.owner.token)
    assert r.status_code == 200
    assert r.json["total"] == 3 and r.json["format"] == "json"
    first = r.json["messages"][-1]
    assert first == {"id": docs[0]["id"], "channel": world.channel, "created": T0 + 1, "subtopic": "",
                     "publisher": world.thing["id"], "protocol": "http",
                     "payload": {"temp": 20, "nested": {"a": [1, 2]}}}
    assert [m["created"] for m in r.json["messages"]] == [T0 + 3, T0 + 2, T0 + 1]


@pytest.mark.parametrize("params,created", [
    ({"subtopic": "room.a"}, [T0 + 2]),
    ({"protocol": "mqtt"}, [T0 + 3]),
    ({"publisher": "0b7e8f52-3c5c-4f4e-9d0a-7a1b2c3d4e5f"}, [T0 + 3]),
    ({"from": T0 + 2}, [T0 + 3, T0 + 2]),
    ({"to": T0 + 2}, [T0 + 1]),
    ({"limit": 1, "offset": 1}, [T0 + 2]),
])
def test_json_format_filters(api, world, docs, params, created):
    r = api.call("GET", path(world.channel, format="JSON", **params), token=world.owner.token)
    assert r.status_code == 200, r.json
    assert [m["created"] for m in r.json["messages"]] == created
