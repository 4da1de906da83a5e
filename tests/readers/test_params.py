"""Bad parameters are 400 with Magistrala's {"error", "message"} body; the parsing rules in detail."""
from __future__ import annotations

import pytest

from chalicelib.errors import BadRequest
from chalicelib.messages.readers import CSV_MAX_ROWS, Interval, MessageQuery
from tests.readers.helpers import path

BAD = [
    ("comparator-unknown", {"v": "1", "comparator": "ne"}, "comparator"),
    ("comparator-alone-still-checked", {"comparator": "like"}, "comparator"),
    ("limit-1001", {"limit": "1001"}, "limit"),
    ("limit-0", {"limit": "0"}, "limit"),
    ("limit-text", {"limit": "ten"}, "limit"),
    ("offset-negative", {"offset": "-1"}, "offset"),
    ("offset-float", {"offset": "1.5"}, "offset"),
    ("v-text", {"v": "abc"}, "v"),
    ("v-nan", {"v": "nan"}, "v"),
    ("v-inf", {"v": "inf"}, "v"),
    ("vb-text", {"vb": "maybe"}, "vb"),
    ("from-text", {"from": "yesterday"}, "from"),
    ("to-text", {"to": "2024-01-01"}, "to"),
    ("publisher-not-uuid", {"publisher": "sensor-1"}, "publisher"),
    ("format-unknown", {"format": "xml"}, "format"),
    ("json-with-name", {"format": "json", "name": "temp"}, "name"),
    ("json-with-v", {"format": "json", "v": "0"}, "v"),
    ("json-with-vb", {"format": "json", "vb": "false"}, "vb"),
    ("aggregation-unknown", {"aggregation": "MEDIAN", "interval": "1h", "from": "0", "to": "10"}, "aggregation"),
    ("aggregation-without-from", {"aggregation": "AVG", "interval": "1h", "to": "10"}, "from"),
    ("aggregation-without-to", {"aggregation": "AVG", "interval": "1h", "from": "0"}, "to"),
    ("aggregation-from-after-to", {"aggregation": "AVG", "interval": "1h", "from": "10", "to": "5"}, "before"),
    ("aggregation-without-interval", {"aggregation": "AVG", "from": "0", "to": "10"}, "interval"),
    ("aggregation-bad-interval", {"aggregation": "AVG", "interval": "1 fortnight", "from": "0", "to": "10"},
     "interval"),
    ("aggregation-json", {"aggregation": "AVG", "interval": "1h", "from": "0", "to": "10", "format": "json"},
     "json"),
    ("interval-without-aggregation", {"interval": "1h"}, "aggregation"),
]


@pytest.mark.parametrize("params,word", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_parameter_is_400(api, world, params, word):
    r = api.call("GET", path(world.channel, **params), token=world.owner.token)
    assert r.status_code == 400, r.json
    assert r.json["error"] == "malformed request"
    assert word in r.json["message"]


def test_bad_channel_id_is_400(api, world):
    r = api.call("GET", "/channels/not-a-uuid/messages", token=world.owner.token)
    assert r.status_code == 400 and "channel id" in r.json["message"]


def test_limit_bounds_are_inclusive(api, world):
    for limit in (1, 1000):
        r = api.call("GET", path(world.channel, limit=limit), token=world.owner.token)
        assert r.status_code == 200 and r.json["limit"] == limit


@pytest.mark.parametrize("text,seconds", [
    ("1s", 1), ("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("1.5h", 5400), ("2d", 172800),
    ("1w", 604800), ("500ms", 0.5), ("1 hour", 3600), ("15 minutes", 900), ("1 day", 86400), ("1H", 3600),
    (" 10 m ", 600), ("1d12h", 129600),
])
def test_interval_syntax(text, seconds):
    assert Interval.parse(text).seconds == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "h", "1", "-1h", "1x", "1 month", "0s", "1h-", "1h 2", "400d", "1ns", "1e3s"])
def test_bad_intervals(text):
    with pytest.raises(BadRequest):
        Interval.parse(text)


def test_buckets_align_to_the_epoch_and_weeks_to_mondays():
    assert Interval.parse("1h").bucket(7199.9) == 3600
    assert Interval.parse("1d").bucket(86400 * 3 + 5) == 86400 * 3
    monday = 1_704_067_200.0  # 2024-01-01T00:00Z, a Monday
    assert Interval.parse("1w").bucket(monday + 6 * 86400) == monday
    assert Interval.parse("1w").bucket(monday - 1) == monday - 604800


def test_query_defaults_and_normalisation():
    q = MessageQuery.from_params({})
    assert (q.offset, q.limit, q.table, q.csv, q.comparator, q.limit_given) == (0, 10, "messages", False, "eq", False)
    q = MessageQuery.from_params({"aggregation": "avg", "interval": "1h", "from": "0", "to": "3600.5",
                                  "comparator": "GT", "publisher": "0B7E8F52-3C5C-4F4E-9D0A-7A1B2C3D4E5F"})
    assert (q.aggregation, q.interval.seconds, q.to, q.comparator) == ("AVG", 3600, 3600.5, "gt")
    assert q.publisher == "0b7e8f52-3c5c-4f4e-9d0a-7a1b2c3d4e5f"
    assert MessageQuery.from_params({"offset": str(10**30)}).offset == 2**62


@pytest.mark.parametrize("params,accept,csv", [
    ({"format": "csv"}, None, True),
    ({"format": "csv"}, "application/json", True),
    ({}, "text/csv", True),
    ({}, "Text/CSV; charset=utf-8", True),
    ({}, "text/csv, application/json", True),
    ({}, "application/json;q=0.5, text/csv", True),
    ({}, "application/json, text/csv;q=0.5", False),
    ({}, "application/json, text/csv", False),
    ({"format": "json"}, "text/csv", True),
    ({}, "application/json", False),
    ({}, "*/*", False),
    ({}, None, False),
    ({}, "text/csv;q=abc, application/json;q=0.1", False),
])
def test_csv_is_chosen_by_format_or_preferred_accept(params, accept, csv):
    assert MessageQuery.from_params(params, accept).csv is csv


def test_export_cap_fits_a_lambda_response():
    assert CSV_MAX_ROWS * 200 < 6 * 1024 * 1024
