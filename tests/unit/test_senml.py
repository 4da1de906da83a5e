import json
import math
import operator
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.messages.senml import (
    MAX_PAYLOAD_BYTES,
    SENML_KEYS,
    InvalidMessage,
    Measurement,
    looks_like_senml,
    normalize_json,
    normalize_senml,
)

# Any absolute time works; a round one makes relative-time cases readable.
RECEIVED = 1_700_000_000.0
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:./_-]*")


def m(
    name,
    time=RECEIVED,
    unit=None,
    value=None,
    vs=None,
    vb=None,
    vd=None,
    s=None,
    ut=None,
):
    return Measurement(
        name=name,
        unit=unit,
        time=time,
        update_time=ut,
        value=value,
        string_value=vs,
        bool_value=vb,
        data_value=vd,
        sum=s,
    )


# --- RFC 8428 section 5.1 examples -------------------------------------------

OW = "urn:dev:ow:10e2073a01080063"
BT_512 = 1.276020076001e09
BT_513 = 1.320067464e09
BT_516 = 1.320078429e09

RFC_5_1_3 = """[
  {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,"bu":"%RH","v":20},
  {"u":"lon","v":24.30621},
  {"u":"lat","v":60.07965},
  {"t":60,"v":20.3},
  {"u":"lon","t":60,"v":24.30622},
  {"u":"lat","t":60,"v":60.07965},
  {"t":120,"v":20.7},
  {"u":"lon","t":120,"v":24.30623},
  {"u":"lat","t":120,"v":60.07966},
  {"u":"%EL","t":150,"v":98},
  {"t":180,"v":21.2},
  {"u":"lon","t":180,"v":24.30628},
  {"u":"lat","t":180,"v":60.07967}
]"""

RFC_5_1_4 = """[
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,"v":20},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,"v":24.30621},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,"v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,"v":20.3},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,"v":24.30622},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,"v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,"v":20.7},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,"v":24.30623},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,"v":60.07966},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,"v":98},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,"v":21.2},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,"v":24.30628},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,"v":60.07967}
]"""

# 5.1.3 and 5.1.4 are the same data, unresolved and resolved.
RFC_5_1_3_RESOLVED = [
    m(OW, BT_513, "%RH", 20.0),
    m(OW, BT_513, "lon", 24.30621),
    m(OW, BT_513, "lat", 60.07965),
    m(OW, BT_513 + 60, "%RH", 20.3),
    m(OW, BT_513 + 60, "lon", 24.30622),
    m(OW, BT_513 + 60, "lat", 60.07965),
    m(OW, BT_513 + 120, "%RH", 20.7),
    m(OW, BT_513 + 120, "lon", 24.30623),
    m(OW, BT_513 + 120, "lat", 60.07966),
    m(OW, BT_513 + 150, "%EL", 98.0),
    m(OW, BT_513 + 180, "%RH", 21.2),
    m(OW, BT_513 + 180, "lon", 24.30628),
    m(OW, BT_513 + 180, "lat", 60.07967),
]

RFC_EXAMPLES = [
    pytest.param(
        '[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]',
        [m(OW, unit="Cel", value=23.1)],
        id="5.1.1-single-datapoint",
    ),
    pytest.param(
        """[{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},
            {"n":"current","u":"A","v":1.2}]""",
        [
            m(OW + ":voltage", unit="V", value=120.1),
            m(OW + ":current", unit="A", value=1.2),
        ],
        id="5.1.2-multiple-datapoints-now",
    ),
    pytest.param(
        # The RFC's own base name lacks the final "3"; kept as published.
        """[{"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
             "bu":"A","bver":5,"n":"voltage","u":"V","v":120.1},
            {"n":"current","t":-5,"v":1.2},
            {"n":"current","t":-4,"v":1.3},
            {"n":"current","t":-3,"v":1.4},
            {"n":"current","t":-2,"v":1.5},
            {"n":"current","t":-1,"v":1.6},
            {"n":"current","v":1.7}]""",
        # Sorted by time; at BT_512 voltage keeps its place before current.
        [
            m("urn:dev:ow:10e2073a0108006:current", BT_512 - 5, "A", 1.2),
            m("urn:dev:ow:10e2073a0108006:current", BT_512 - 4, "A", 1.3),
            m("urn:dev:ow:10e2073a0108006:current", BT_512 - 3, "A", 1.4),
            m("urn:dev:ow:10e2073a0108006:current", BT_512 - 2, "A", 1.5),
            m("urn:dev:ow:10e2073a0108006:current", BT_512 - 1, "A", 1.6),
            m("urn:dev:ow:10e2073a0108006:voltage", BT_512, "V", 120.1),
            m("urn:dev:ow:10e2073a0108006:current", BT_512, "A", 1.7),
        ],
        id="5.1.2-multiple-datapoints-timed",
    ),
    pytest.param(RFC_5_1_3, RFC_5_1_3_RESOLVED, id="5.1.3-multiple-measurements"),
    pytest.param(RFC_5_1_4, RFC_5_1_3_RESOLVED, id="5.1.4-resolved-data"),
    pytest.param(
        """[{"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
            {"n":"label","vs":"Machine Room"},
            {"n":"open","vb":false},
            {"n":"nfc-reader","vd":"aGkgCg"}]""",
        [
            m(OW + ":temp", unit="Cel", value=23.1),
            m(OW + ":label", vs="Machine Room"),
            m(OW + ":open", vb=False),
            m(OW + ":nfc-reader", vd="aGkgCg"),
        ],
        id="5.1.5-multiple-data-types",
    ),
    pytest.param(
        # The last record takes bn from the third record, bt from the first.
        """[{"bn":"2001:db8::2/","bt":1.320078429e+09,"n":"temperature","u":"Cel","v":25.2},
            {"n":"humidity","u":"%RH","v":30},
            {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
            {"n":"humidity","u":"%RH","v":67}]""",
        [
            m("2001:db8::2/temperature", BT_516, "Cel", 25.2),
            m("2001:db8::2/humidity", BT_516, "%RH", 30.0),
            m("2001:db8::1/temperature", BT_516, "Cel", 12.3),
            m("2001:db8::1/humidity", BT_516, "%RH", 67.0),
        ],
        id="5.1.6-collection-of-resources",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), RFC_EXAMPLES)
def test_rfc8428_examples(payload, expected):
    assert normalize_senml(payload, RECEIVED) == expected
    # Same result whatever form the payload arrives in.
    assert normalize_senml(payload.encode(), RECEIVED) == expected
    assert normalize_senml(json.loads(payload), RECEIVED) == expected


# --- base fields, values and sums --------------------------------------------

RESOLUTION_CASES = [
    pytest.param(
        [
            {"bn": "a:", "bu": "Cel", "n": "x", "v": 1},
            {"n": "y", "u": "V", "v": 2},
            {"n": "z", "v": 3},
        ],
        [
            m("a:x", unit="Cel", value=1.0),
            m("a:y", unit="V", value=2.0),
            m("a:z", unit="Cel", value=3.0),
        ],
        id="u-overrides-bu-for-one-record-only",
    ),
    pytest.param(
        [
            {"bn": "a:", "n": "x", "v": 1},
            {"bn": "b:", "n": "x", "v": 2},
            {"n": "y", "v": 3},
        ],
        [m("a:x", value=1.0), m("b:x", value=2.0), m("b:y", value=3.0)],
        id="new-bn-replaces-old",
    ),
    pytest.param(
        [{"bn": "dev", "v": 1}],
        [m("dev", value=1.0)],
        id="bn-alone-is-the-name",
    ),
    pytest.param(
        [{"bn": "a", "bv": 100, "v": 1}, {"v": -1}],
        [m("a", value=101.0), m("a", value=99.0)],
        id="bv-added-to-v",
    ),
    pytest.param(
        [{"bn": "a", "bv": 7}],
        [m("a", value=7.0)],
        id="bv-alone-is-the-value",
    ),
    pytest.param(
        [{"bn": "a", "bv": 7}, {"vs": "on"}],
        [m("a", value=7.0), m("a", vs="on")],
        id="bv-does-not-clash-with-vs",
    ),
    pytest.param(
        [{"n": "energy", "s": 42.5}],
        [m("energy", s=42.5)],
        id="sum-only",
    ),
    pytest.param(
        [{"n": "energy", "bs": 1000, "s": 5}, {"n": "energy", "v": 2}],
        [m("energy", s=1005.0), m("energy", value=2.0, s=1000.0)],
        id="bs-added-to-s-and-carried",
    ),
    pytest.param(
        [{"n": "a", "v": 1, "s": 2}],
        [m("a", value=1.0, s=2.0)],
        id="value-and-sum",
    ),
    pytest.param(
        [{"n": "a", "v": 1, "ut": 30}],
        [m("a", value=1.0, ut=30.0)],
        id="update-time-kept",
    ),
    pytest.param(
        [{"n": "a", "v": 1, "foo": {"x": 1}, "bver": 10}],
        [m("a", value=1.0)],
        id="unknown-fields-ignored",
    ),
]


@pytest.mark.parametrize(("pack", "expected"), RESOLUTION_CASES)
def test_resolution(pack, expected):
    assert normalize_senml(json.dumps(pack), RECEIVED) == expected


# --- time ----------------------------------------------------------------------

TIME_CASES = [
    pytest.param({}, RECEIVED, id="no-time-is-now"),
    pytest.param({"t": -5}, RECEIVED - 5, id="negative-t-is-past"),
    pytest.param({"t": 60}, RECEIVED + 60, id="small-t-is-future"),
    pytest.param({"bt": 10, "t": 5}, RECEIVED + 15, id="bt-plus-t-relative"),
    pytest.param({"bt": 1.5e9, "t": -5}, 1.5e9 - 5, id="bt-absolute"),
    pytest.param({"t": 1.5e9}, 1.5e9, id="t-absolute"),
    pytest.param({"t": 2**28}, float(2**28), id="2**28-is-absolute"),
    pytest.param({"t": 2**28 - 1}, RECEIVED + 2**28 - 1, id="below-2**28-is-relative"),
    pytest.param({"bt": 2**28, "t": -1}, RECEIVED + 2**28 - 1, id="sum-decides-not-bt"),
]


@pytest.mark.parametrize(("fields", "expected_time"), TIME_CASES)
def test_time_resolution(fields, expected_time):
    (measurement,) = normalize_senml([{"n": "a", "v": 1, **fields}], RECEIVED)
    assert measurement.time == expected_time


def test_relative_times_follow_received_at():
    pack = '[{"bn":"a","t":-2,"v":1},{"t":-1,"v":2}]'
    assert [x.time for x in normalize_senml(pack, 1000.0)] == [998.0, 999.0]
    assert [x.time for x in normalize_senml(pack, 2000.5)] == [1998.5, 1999.5]


def test_sorted_by_time_and_stable():
    pack = [
        {"n": "late", "t": 1.8e9, "v": 1},
        {"n": "first", "t": 1.5e9, "v": 1},
        {"n": "second", "t": 1.5e9, "v": 1},
        {"n": "relative", "t": -1, "v": 1},
    ]
    names = [x.name for x in normalize_senml(pack, RECEIVED)]
    assert names == ["first", "second", "relative", "late"]


# --- rejections ----------------------------------------------------------------

REJECTIONS = [
    pytest.param(
        b"[" + b" " * MAX_PAYLOAD_BYTES + b"]",
        "payload too large",
        id="too-large-bytes",
    ),
    pytest.param("[" + " " * MAX_PAYLOAD_BYTES + "]", "payload too large", id="too-large-text"),
    pytest.param(
        "[" + "é" * (MAX_PAYLOAD_BYTES // 2) + "]",
        "payload too large",
        id="too-large-utf8",
    ),
    pytest.param(b'[{"n":"a","v":1}]\xff', "not valid UTF-8", id="bad-utf8"),
    pytest.param(b'[{"n":"a","v":1}', "not valid JSON", id="truncated"),
    pytest.param(b"", "not valid JSON", id="empty"),
    pytest.param(b'[{"n":"a","v":NaN}]', "NaN is not a number", id="nan"),
    pytest.param(b'[{"n":"a","v":Infinity}]', "Infinity is not a number", id="infinity"),
    pytest.param(
        b'[{"n":"a","t":-Infinity,"v":1}]',
        "-Infinity is not a number",
        id="minus-infinity",
    ),
    pytest.param(
        b'[{"n":"a","v":1e400}]',
        "record 0: v is not a finite number",
        id="overflowing-literal",
    ),
    pytest.param(
        b'[{"n":"a","bv":1e308,"v":1e308}]',
        "v + bv is not a finite number",
        id="overflowing-sum",
    ),
    pytest.param(
        b'[{"n":"a","bt":1e308,"t":1e308,"v":1}]',
        "time inf is outside 1970-01-01..9999-12-31",
        id="overflowing-time",
    ),
    pytest.param(b"[" * 100_000, "nested too deeply", id="deep-nesting"),
    pytest.param(b'{"n":"a","v":1}', "must be a JSON array", id="object-not-array"),
    pytest.param(b'"hello"', "must be a JSON array", id="string-not-array"),
    pytest.param(b"[]", "no records", id="empty-array"),
    pytest.param(
        b'[{"n":"a","v":1},2]',
        "record 1: must be a JSON object",
        id="record-not-object",
    ),
    pytest.param(b'[{"n":1,"v":1}]', "record 0: n must be a string", id="n-type"),
    pytest.param(b'[{"bn":false,"v":1}]', "bn must be a string", id="bn-type"),
    pytest.param(b'[{"n":"a","u":1,"v":1}]', "u must be a string", id="u-type"),
    pytest.param(b'[{"n":"a","bu":null,"v":1}]', "bu must be a string", id="bu-type"),
    pytest.param(b'[{"n":"a","vs":1}]', "vs must be a string", id="vs-type"),
    pytest.param(b'[{"n":"a","vd":[]}]', "vd must be a string", id="vd-type"),
    pytest.param(b'[{"n":"a","v":"1"}]', "v must be a number", id="v-string"),
    pytest.param(b'[{"n":"a","v":true}]', "v must be a number", id="v-bool"),
    pytest.param(b'[{"n":"a","bv":false}]', "bv must be a number", id="bv-bool"),
    pytest.param(b'[{"n":"a","s":null}]', "s must be a number", id="s-null"),
    pytest.param(b'[{"n":"a","t":"now","v":1}]', "t must be a number", id="t-type"),
    pytest.param(b'[{"n":"a","bt":true,"v":1}]', "bt must be a number", id="bt-bool"),
    pytest.param(b'[{"n":"a","ut":{},"v":1}]', "ut must be a number", id="ut-type"),
    pytest.param(b'[{"n":"a","vb":"true"}]', "vb must be a boolean", id="vb-type"),
    pytest.param(b'[{"n":"a","vb":1}]', "vb must be a boolean", id="vb-int"),
    pytest.param(b'[{"n":"a","v":1,"bver":"10"}]', "bver must be an integer", id="bver-type"),
    pytest.param(b'[{"n":"a","v":1,"bver":10.0}]', "bver must be an integer", id="bver-float"),
    pytest.param(b'[{"n":"a","v":1,"bver":11}]', "unsupported SenML version 11", id="bver-newer"),
    pytest.param(b'[{"n":"a","v":1,"bver":0}]', "unsupported SenML version 0", id="bver-zero"),
    pytest.param(
        b'[{"n":"a","v":1,"geo_":"x"}]',
        "must-understand field 'geo_'",
        id="must-understand",
    ),
    pytest.param(b'[{"v":1}]', "record 0: name is empty", id="no-name"),
    pytest.param(b'[{"bn":"","n":"","v":1}]', "name is empty", id="empty-name"),
    pytest.param(b'[{"n":"-a","v":1}]', "invalid name '-a'", id="name-starts-with-dash"),
    pytest.param(b'[{"n":"/a","v":1}]', "invalid name", id="name-starts-with-slash"),
    pytest.param(b'[{"n":"a b","v":1}]', "invalid name", id="name-space"),
    pytest.param('[{"n":"caf\u00e9","v":1}]', "invalid name", id="name-non-ascii"),
    pytest.param(b'[{"n":"a\\n","v":1}]', "invalid name", id="name-trailing-newline"),
    pytest.param(b'[{"bn":"a b","n":"c","v":1}]', "invalid name", id="bn-invalid"),
    pytest.param(
        b'[{"n":"a","v":1,"vs":"x"}]',
        "exactly one of v, vs, vb, vd is required, got v, vs",
        id="v-and-vs",
    ),
    pytest.param(
        b'[{"n":"a","vb":true,"vd":"aGk"}]',
        "exactly one of v, vs, vb, vd",
        id="vb-and-vd",
    ),
    pytest.param(
        b'[{"n":"a"}]',
        "record 0: exactly one of v, vs, vb, vd is required, or a sum",
        id="no-value",
    ),
    pytest.param(b'[{"n":"a","t":5}]', "or a sum", id="time-but-no-value"),
    pytest.param(
        # RFC 8428 section 5.1.7 opens with a record holding only bn: we
        # store rows, and a row needs a value.
        b'[{"bn":"urn:dev:ow:10e2073a01080063:"},{"n":"temp","u":"Cel","v":23.1}]',
        "record 0: exactly one of v, vs, vb, vd is required",
        id="base-only-record",
    ),
    pytest.param(
        b'[{"bn":"a","v":1},{"v":2},{"v":3},{"vs":"x","vb":true}]',
        "record 3: exactly one of v, vs, vb, vd",
        id="record-index-in-reason",
    ),
    pytest.param(b'[{"n":"a","vs":"x\\u0000"}]', "vs holds a NUL character", id="vs-nul"),
    pytest.param(b'[{"n":"a","vd":"\\ud800"}]', "vd holds a NUL character or a lone surrogate", id="vd-surrogate"),
    pytest.param(b'[{"n":"a","u":"\\udfff","v":1}]', "lone surrogate", id="u-surrogate"),
    pytest.param([{"n": "a", "v": float("nan")}], "v is not a finite number", id="parsed-nan"),
    pytest.param([{"n": "a", "v": 10**400}], "v is not a finite number", id="parsed-huge-int"),
    pytest.param([{1: 2, "n": "a", "v": 1}], "field names must be strings", id="parsed-int-key"),
    pytest.param(None, "must be a JSON array", id="parsed-none"),
    pytest.param([{"n": "a", "bt": 1.7976931348623157e308, "v": 1}], "outside 1970", id="time-max-double"),
    pytest.param([{"n": "a", "t": 253_402_300_800, "v": 1}], "outside 1970", id="time-year-10000"),
    pytest.param([{"n": "a", "bt": -1e10, "v": 1}], "outside 1970", id="time-before-1970"),
]


@pytest.mark.parametrize(("payload", "reason"), REJECTIONS)
def test_rejections(payload, reason):
    with pytest.raises(InvalidMessage) as caught:
        normalize_senml(payload, RECEIVED)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_payload_at_the_limit_is_accepted():
    record = b'[{"n":"a","v":1}'
    payload = record + b" " * (MAX_PAYLOAD_BYTES - len(record) - 1) + b"]"
    assert len(payload) == MAX_PAYLOAD_BYTES
    assert normalize_senml(payload, RECEIVED) == [m("a", value=1.0)]


def test_long_bad_name_is_cut_in_reason():
    with pytest.raises(InvalidMessage) as caught:
        normalize_senml([{"n": " " * 10_000, "v": 1}], RECEIVED)
    assert len(caught.value.reason) < 300


# --- plain JSON ----------------------------------------------------------------

JSON_ACCEPTED = [
    pytest.param(b'{"temp": 21.5}', [{"temp": 21.5}], id="object-bytes"),
    pytest.param('{"temp": 21.5}', [{"temp": 21.5}], id="object-text"),
    pytest.param(
        bytearray(b'{"a": {"b": [1, null]}}'),
        [{"a": {"b": [1, None]}}],
        id="nested-bytearray",
    ),
    pytest.param(b'[{"a": 1}, {"b": "x"}]', [{"a": 1}, {"b": "x"}], id="array-of-objects"),
    pytest.param({"a": 1}, [{"a": 1}], id="parsed-object"),
    pytest.param([{"a": 1}, {}], [{"a": 1}, {}], id="parsed-array"),
    pytest.param(b'[{"n":"a","v":1}]', [{"n": "a", "v": 1}], id="senml-is-json-too"),
    pytest.param(b'{"emoji":"\\ud83d\\ude00"}', [{"emoji": "\U0001f600"}], id="surrogate-pair"),
]


@pytest.mark.parametrize(("payload", "expected"), JSON_ACCEPTED)
def test_normalize_json_accepts(payload, expected):
    assert normalize_json(payload) == expected


JSON_REJECTED = [
    pytest.param(b"42", "object or an array of objects", id="number"),
    pytest.param(b'"x"', "object or an array of objects", id="string"),
    pytest.param(b"null", "object or an array of objects", id="null"),
    pytest.param(b"[]", "empty array", id="empty-array"),
    pytest.param(b'[{"a":1},[]]', "item 1 must be an object", id="mixed-array"),
    pytest.param(b'{"a":', "not valid JSON", id="truncated"),
    pytest.param(b'{"a":NaN}', "NaN is not a number", id="nan"),
    pytest.param(b'{"a":[1e999]}', "must be finite", id="overflowing-literal"),
    pytest.param(b"\xfe\xff", "not valid UTF-8", id="bad-utf8"),
    pytest.param(
        b'{"a":"' + b"x" * MAX_PAYLOAD_BYTES + b'"}',
        "payload too large",
        id="too-large",
    ),
    pytest.param({"a": [float("inf")]}, "must be finite", id="parsed-infinity"),
    pytest.param({"a": {1: 2}}, "keys must be strings", id="parsed-int-key"),
    pytest.param({"a": (1, 2)}, "tuple", id="parsed-not-json"),
    pytest.param(b'{"a":"\\u0000"}', "JSON string holds a NUL", id="nul"),
    pytest.param(b'[{"a":["\\ud83d"]}]', "lone surrogate", id="surrogate"),
    pytest.param(b'{"\\ud83d":1}', "JSON object key holds", id="surrogate-key"),
]


@pytest.mark.parametrize(("payload", "reason"), JSON_REJECTED)
def test_normalize_json_rejects(payload, reason):
    with pytest.raises(InvalidMessage) as caught:
        normalize_json(payload)
    assert reason in caught.value.reason


# --- looks_like_senml ------------------------------------------------------------

LOOKS_LIKE = [
    pytest.param([{"n": "temp", "v": 1}], True, id="minimal"),
    pytest.param(json.loads(RFC_5_1_3), True, id="rfc-5.1.3"),
    pytest.param([{"bn": "dev:"}, {"n": "x", "vs": "on"}], True, id="base-record-first"),
    pytest.param([{"bt": 1, "t": 2, "v": 3}], True, id="value-without-name"),
    pytest.param([{"n": "a", "s": 1, "ut": 5, "bver": 10}], True, id="sum"),
    pytest.param({"n": "temp", "v": 1}, False, id="object-not-array"),
    pytest.param([], False, id="empty"),
    pytest.param([1, 2], False, id="numbers"),
    pytest.param([{"n": "temp", "v": 1}, 2], False, id="mixed"),
    pytest.param([{"n": "temp", "v": 1, "room": "b"}], False, id="extra-key"),
    pytest.param([{"n": "a", "v": 1, "geo_": 1}], False, id="must-understand-key"),
    pytest.param([{"t": 1, "u": "Cel"}], False, id="no-name-or-value"),
    pytest.param([{}], False, id="empty-object"),
    pytest.param('[{"n":"temp","v":1}]', False, id="unparsed-text"),
    pytest.param(None, False, id="none"),
]


@pytest.mark.parametrize(("doc", "expected"), LOOKS_LIKE)
def test_looks_like_senml(doc, expected):
    assert looks_like_senml(doc) is expected


# --- properties ------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)

# SenML keys with values of any type: packs get past parsing and fail (or,
# rarely, pass) somewhere in record checking.
senml_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats()
    | st.sampled_from(["a", "temp", "urn:dev:x:", "", "a b", "-x", "aGkgCg", "geo_"])
    | st.text(max_size=5)
)
senml_keys = st.sampled_from(sorted(SENML_KEYS)) | st.sampled_from(["foo", "geo_"]) | st.text(max_size=3)
# SenML keys with values of the right type: many of these packs are valid,
# so the invariants are checked on accepted data too, including overflowing
# sums and times and the 2**28 boundary.
numbers = st.sampled_from([0, -5, 60, 2**28, 1.5e9, 1e308, -1e308]) | st.floats(allow_nan=False)
names = st.sampled_from(["a", "temp", "urn:dev:x:", "x.1/y_2", "", "a b"])
typed_fields = {
    "bn": names,
    **{key: st.sampled_from(["Cel", "%RH"]) for key in ("bu", "u")},
    **{key: st.text(max_size=3) for key in ("vs", "vd")},
    **{key: numbers for key in ("bt", "bv", "bs", "t", "v", "s", "ut")},
    "vb": st.booleans(),
    "bver": st.integers(1, 10),
}
typed_records = st.fixed_dictionaries({"n": names}, optional=typed_fields)
senml_records = typed_records | st.dictionaries(senml_keys, senml_scalars, max_size=6)
senml_packs = st.lists(senml_records, max_size=6)
anything = json_values | senml_packs | st.lists(typed_records, min_size=1, max_size=3)


def storable(text):
    text.encode("utf-8")  # raises on a lone surrogate
    return isinstance(text, str) and "\x00" not in text


def strings_in(doc):
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for key, value in doc.items():
            yield key
            yield from strings_in(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from strings_in(value)


def assert_well_formed(result):
    assert isinstance(result, list)
    assert result  # an empty pack is rejected, never returned as []
    for x in result:
        assert isinstance(x, Measurement)
        assert NAME_RE.fullmatch(x.name)
        for text in (x.unit, x.string_value, x.data_value):
            assert text is None or storable(text)
        for number in (x.time, x.update_time, x.value, x.sum):
            assert number is None or (type(number) is float and math.isfinite(number))
        assert isinstance(x.time, float) and 0 <= x.time < 253_402_300_800
        kinds = [k for k in (x.value, x.string_value, x.bool_value, x.data_value) if k is not None]
        assert len(kinds) <= 1
        assert kinds or x.sum is not None
    times = [x.time for x in result]
    assert times == sorted(times)


def senml_outcome(payload):
    try:
        result = normalize_senml(payload, RECEIVED)
    except InvalidMessage as exc:
        assert exc.reason
        return None
    assert_well_formed(result)
    return result


def json_outcome(payload):
    try:
        result = normalize_json(payload)
    except InvalidMessage as exc:
        assert exc.reason
        return None
    assert isinstance(result, list) and result
    assert all(isinstance(doc, dict) for doc in result)
    # Whatever is accepted can be written back as strict JSON that Postgres takes.
    json.dumps(result, allow_nan=False)
    assert all(storable(text) for text in strings_in(result))
    return result


# No example database: these run in seconds and need no replay store.
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, database=None)


@PROPERTY_SETTINGS
@given(anything)
def test_property_on_json_values(doc):
    senml_outcome(doc)
    json_outcome(doc)
    # json.dumps writes NaN/Infinity for non-finite floats, which must be
    # rejected; text and bytes must give the same answer.
    text = json.dumps(doc)
    from_text = senml_outcome(text)
    assert senml_outcome(text.encode()) == from_text
    json_outcome(text)


@PROPERTY_SETTINGS
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_property_on_raw_input(payload):
    senml_outcome(payload)
    json_outcome(payload)


# Well-formed packs: every record must come back, named bn + n.
NAME_START = "abcXYZ019"
name_parts = st.builds(
    operator.add,
    st.sampled_from(NAME_START),
    st.text(alphabet=NAME_START + "-:./_", max_size=6),
)
# Text Postgres can store: UTF-8 encodable, no NUL.
storable_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
# Relative times (some before RECEIVED) and absolute ones up to the year 9999.
times = st.floats(min_value=-1e8, max_value=2.5e11)
one_value = st.one_of(
    st.fixed_dictionaries({"v": finite}),
    st.fixed_dictionaries({"vs": storable_text}),
    st.fixed_dictionaries({"vb": st.booleans()}),
    st.fixed_dictionaries({"vd": st.sampled_from(["", "aGkgCg"])}),
    st.fixed_dictionaries({"s": finite}),
)
valid_records = st.tuples(
    name_parts,
    one_value,
    st.fixed_dictionaries({}, optional={"t": times, "u": st.sampled_from(["Cel", "%RH"])}),
).map(lambda parts: {"n": parts[0], **parts[1], **parts[2]})


@PROPERTY_SETTINGS
@given(st.none() | name_parts, st.lists(valid_records, min_size=1, max_size=5))
def test_valid_packs_resolve_every_record(bn, records):
    pack = [{"bn": bn, **records[0]}, *records[1:]] if bn else records
    result = senml_outcome(json.dumps(pack))
    assert result is not None
    assert looks_like_senml(pack)
    assert sorted(x.name for x in result) == sorted((bn or "") + r["n"] for r in records)
