"""One data set and a table of filters with the rows each must return.

Used against PostgreSQL (through the API) and against the DynamoDB backup reader, so the
two implementations are held to the same answers. Each row has its own time, which is
how a served message (it carries no id) is traced back to its label.
"""
from __future__ import annotations

from tests.readers.helpers import T0, senml

P2 = "0b7e8f52-3c5c-4f4e-9d0a-7a1b2c3d4e5f"


def dataset(channel: str, publisher: str) -> dict[str, dict]:
    """label -> row. `publisher` is the connected thing; P2 a second publisher."""
    spec = {
        "t0": dict(name="temp", value=0.0, unit="Cel"),
        "t1": dict(name="temp", value=-1.5, unit="Cel"),
        "t2": dict(name="temp", value=21.5, unit="Cel", publisher=P2, subtopic="room.a"),
        "t3": dict(name="temp", value=30.0, unit="Cel", protocol="http"),
        "h0": dict(name="hum", value=55.0, unit="%RH", subtopic="room.a"),
        "s0": dict(name="status", string_value="ok"),
        "s1": dict(name="status", string_value="not ok", publisher=P2),
        "s2": dict(name="status", string_value="o"),
        "s3": dict(name="status", string_value="50%_x"),
        "b0": dict(name="flag", bool_value=False),
        "b1": dict(name="flag", bool_value=True, protocol="http"),
        "d0": dict(name="blob", data_value="aaaa"),
        "d1": dict(name="blob", data_value="bbbb"),
        "e0": dict(name="energy", value=5.0, sum=100.0, update_time=60.0),
    }
    rows = {}
    for i, (label, fields) in enumerate(spec.items()):
        fields = {"publisher": publisher, **fields}
        rows[label] = senml(channel, time=T0 + 10 * i, **fields)
    return rows


ALL = {"t0", "t1", "t2", "t3", "h0", "s0", "s1", "s2", "s3", "b0", "b1", "d0", "d1", "e0"}
NUMERIC = {"t0", "t1", "t2", "t3", "h0", "e0"}

# (id, query parameters, labels expected)
CASES = [
    ("no-filter", {}, ALL),
    ("name", {"name": "temp"}, {"t0", "t1", "t2", "t3"}),
    ("name-unknown", {"name": "nope"}, set()),
    ("v=0-is-a-real-filter", {"v": "0"}, {"t0"}),
    ("v=0-eq", {"v": "0", "comparator": "eq"}, {"t0"}),
    ("v=0-lt", {"v": "0", "comparator": "lt"}, {"t1"}),
    ("v=0-le", {"v": "0", "comparator": "le"}, {"t0", "t1"}),
    ("v=0-gt", {"v": "0", "comparator": "gt"}, {"t2", "t3", "h0", "e0"}),
    ("v=0-ge", {"v": "0", "comparator": "ge"}, {"t0", "t2", "t3", "h0", "e0"}),
    ("v-float", {"v": "21.5"}, {"t2"}),
    ("v-negative", {"v": "-1.5"}, {"t1"}),
    ("v-exponent", {"v": "3e1", "comparator": "GE"}, {"t3", "h0"}),
    ("vb=false-is-a-real-filter", {"vb": "false"}, {"b0"}),
    ("vb=true", {"vb": "true"}, {"b1"}),
    ("vb=0", {"vb": "0"}, {"b0"}),
    ("vs-eq", {"vs": "ok"}, {"s0"}),
    ("vs-ge-contains", {"vs": "ok", "comparator": "ge"}, {"s0", "s1"}),
    ("vs-gt-contains-not-equal", {"vs": "ok", "comparator": "gt"}, {"s1"}),
    ("vs-le-contained", {"vs": "ok", "comparator": "le"}, {"s0", "s2"}),
    ("vs-lt-contained-not-equal", {"vs": "ok", "comparator": "lt"}, {"s2"}),
    ("vs-like-chars-are-literal", {"vs": "%_", "comparator": "ge"}, {"s3"}),
    ("vs-like-chars-no-match", {"vs": "_%", "comparator": "ge"}, set()),
    ("vd-eq", {"vd": "bbbb"}, {"d1"}),
    ("vd-lt", {"vd": "bbbb", "comparator": "lt"}, {"d0"}),
    ("vd-ge", {"vd": "aaab", "comparator": "ge"}, {"d1"}),
    ("subtopic", {"subtopic": "room.a"}, {"t2", "h0"}),
    ("subtopic-unknown", {"subtopic": "room"}, set()),
    ("publisher", {"publisher": P2}, {"t2", "s1"}),
    ("publisher-uppercase", {"publisher": P2.upper()}, {"t2", "s1"}),
    ("protocol", {"protocol": "http"}, {"t3", "b1"}),
    ("from-inclusive", {"from": str(T0 + 120)}, {"d1", "e0"}),
    ("to-exclusive", {"to": str(T0 + 20)}, {"t0", "t1"}),
    ("from-to", {"from": str(T0 + 10), "to": str(T0 + 30)}, {"t1", "t2"}),
    ("from-fraction", {"from": str(T0 + 129.5)}, {"e0"}),
    ("empty-range", {"from": str(T0 + 30), "to": str(T0 + 30)}, set()),
    ("inverted-range", {"from": str(T0 + 40), "to": str(T0 + 10)}, set()),
    # Any finite bound is taken, far beyond any stored time (the backup's sort key has an end).
    ("from-largest-double", {"from": "1.7976931348623157e308"}, set()),
    ("to-largest-double", {"to": "1.7976931348623157e308"}, ALL),
    ("from-lowest-double", {"from": "-1.7976931348623157e308"}, ALL),
    ("to-before-1970", {"to": "-1e300"}, set()),
    ("beyond-year-9999", {"from": "1e16", "to": "1e17"}, set()),
    ("combined", {"name": "temp", "v": "0", "comparator": "ge", "publisher": P2, "subtopic": "room.a"}, {"t2"}),
    ("combined-time-value", {"v": "10", "comparator": "gt", "to": str(T0 + 40)}, {"t2", "t3"}),
    ("empty-params-ignored", {"name": "", "v": "", "vb": "", "subtopic": ""}, ALL),
]
