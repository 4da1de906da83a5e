"""Turn device payloads into rows we can store.

SenML (RFC 8428, JSON encoding) is resolved the way Magistrala's senml
transformer does it: base fields are folded into every record, so each
stored row stands on its own. One deliberate difference: RFC 8428 relative
times (below 2**28) are turned into absolute times using the moment the
message was received, instead of being stored as dates in early 1970.

Plain JSON messages are only checked for shape (an object, or an array of
objects) and for being real JSON, then stored as they are.

Every problem with a payload is reported as InvalidMessage and nothing else,
so callers can turn it into a 400 (HTTP) or a dropped message (MQTT) without
guarding against surprises. Stdlib only: this is imported on cold starts.
"""

from __future__ import annotations

import json
import math
import re
from typing import NamedTuple

MAX_PAYLOAD_BYTES = 128 * 1024

# RFC 8428 section 4.5.3: a time below 2**28 is relative to "now".
RELATIVE_TIME_LIMIT = 2**28
# Resolved times must fall in 1970..9999: the backup sorts messages by a 16-digit millisecond key,
# and a time outside that range has no place in it (nor any meaning for a device).
MAX_TIME = 253_402_300_800.0

# RFC 8428 section 4.4: the version this implementation understands.
SENML_VERSION = 10

# RFC 8428 section 4.5.1. fullmatch, because "$" would let a trailing
# newline through.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:./_-]*")
# Names are indexed (channel, name, time): a PostgreSQL index entry holds at most ~2.7 KB.
MAX_NAME_LENGTH = 1024

_STRING_FIELDS = frozenset({"bn", "bu", "n", "u", "vs", "vd"})
_NUMBER_FIELDS = frozenset({"bt", "bv", "bs", "t", "v", "s", "ut"})
SENML_KEYS = _STRING_FIELDS | _NUMBER_FIELDS | {"vb", "bver"}
_BASE_FIELDS = ("bn", "bt", "bu", "bv", "bs")
_VALUE_FIELDS = ("v", "vs", "vb", "vd")
# A SenML record names something or carries a value; an object that has
# neither is more likely an ordinary JSON document that happens to use
# short keys such as "t" or "u".
_SENML_HINT_KEYS = frozenset({"n", "bn", "v", "vs", "vb", "vd", "s"})


class InvalidMessage(ValueError):
    """The payload cannot be stored; .reason says why, for humans."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Measurement(NamedTuple):
    """One resolved SenML record: the row we store. (A tuple: built once per record, and
    a frozen dataclass costs several times more to build.)"""

    name: str
    unit: str | None
    time: float
    update_time: float | None
    value: float | None
    string_value: str | None
    bool_value: bool | None
    data_value: str | None
    sum: float | None


def normalize_senml(payload: bytes | str | list, received_at: float) -> list[Measurement]:
    """Resolve a SenML pack into measurements sorted by time.

    Errors name the offending record by its 0-based position in the array.
    """
    pack = parse_payload(payload)
    if not isinstance(pack, list):
        raise InvalidMessage("SenML payload must be a JSON array of records")
    if not pack:
        raise InvalidMessage("SenML payload has no records")
    # Base fields apply to the record that carries them and every later one,
    # until another record sets them again (RFC 8428 section 4.1).
    base: dict = {"bn": "", "bt": 0.0, "bu": None, "bv": None, "bs": None}
    measurements = [_resolve(i, record, base, received_at) for i, record in enumerate(pack)]
    # list.sort is stable: records with the same time keep their pack order.
    measurements.sort(key=_time_of)
    return measurements


def normalize_json(payload: bytes | str | dict | list) -> list[dict]:
    """Check a plain JSON message: an object becomes [object]; an array of
    objects is returned as it is."""
    doc = parse_payload(payload)
    if isinstance(doc, dict):
        docs = [doc]
    elif isinstance(doc, list):
        if not doc:
            raise InvalidMessage("JSON payload is an empty array")
        for i, item in enumerate(doc):
            if not isinstance(item, dict):
                raise InvalidMessage(f"JSON array item {i} must be an object")
        docs = doc
    else:
        raise InvalidMessage("JSON payload must be an object or an array of objects")
    # Already-parsed input may come from a lenient parser (json.loads takes
    # NaN by default), so check it holds only what we can store back as JSON.
    _check_json_values(docs)
    return docs


def looks_like_senml(doc) -> bool:
    """Guess whether an already-parsed MQTT payload (which has no content
    type) is SenML rather than plain JSON."""
    return (
        isinstance(doc, list)
        and bool(doc)
        and all(
            isinstance(record, dict) and record.keys() <= SENML_KEYS and not record.keys().isdisjoint(_SENML_HINT_KEYS)
            for record in doc
        )
    )


def _time_of(measurement: Measurement) -> float:
    return measurement.time


def parse_payload(payload):
    """Parse bytes or text as strict JSON (size-checked, no NaN); pass anything else through.

    Callers that must inspect a payload before normalizing it parse once with this and
    hand the result to normalize_senml / normalize_json."""
    if isinstance(payload, (bytes, bytearray)):
        _check_size(len(payload))
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMessage("payload is not valid UTF-8") from None
    elif isinstance(payload, str):
        # Every character is at least one byte: skip encoding huge strings.
        _check_size(len(payload))
        _check_size(len(payload.encode("utf-8", "surrogatepass")))
        text = payload
    else:
        return payload
    try:
        return _DECODER.decode(text)
    except InvalidMessage:
        raise
    except RecursionError:
        raise InvalidMessage("payload is nested too deeply") from None
    except ValueError as exc:
        raise InvalidMessage(f"payload is not valid JSON: {exc}") from None


def _reject_constant(token: str):
    # json.loads accepts NaN, Infinity and -Infinity, which are not JSON and
    # which no time series can use.
    raise InvalidMessage(f"payload is not valid JSON: {token} is not a number")


# One decoder for every payload: json.loads with an option builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _check_size(size: int) -> None:
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidMessage(f"payload too large: {size} bytes, the limit is {MAX_PAYLOAD_BYTES}")


def _resolve(index: int, record, base: dict, received_at: float) -> Measurement:
    # The hot path of ingestion (once per record): error texts are only built when needed.
    if not isinstance(record, dict):
        raise InvalidMessage(f"record {index}: must be a JSON object")
    fields = _typed_fields(index, record)
    for key in _BASE_FIELDS:
        if key in fields:
            base[key] = fields[key]

    name = base["bn"] + fields.get("n", "")
    if not name:
        raise InvalidMessage(f"record {index}: name is empty, set n or bn")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidMessage(f"record {index}: name is longer than {MAX_NAME_LENGTH} characters")
    if not _NAME_RE.fullmatch(name):
        raise InvalidMessage(
            f"record {index}: invalid name {_short(name)}: it must start with a letter or digit"
            " and use only letters, digits and - : . / _"
        )

    kinds = ("v" in fields) + ("vs" in fields) + ("vb" in fields) + ("vd" in fields)
    if kinds > 1:
        got = ", ".join(key for key in _VALUE_FIELDS if key in fields)
        raise InvalidMessage(f"record {index}: exactly one of v, vs, vb, vd is required, got {got}")
    bv, bs = base["bv"], base["bs"]
    value = None
    if "v" in fields:
        value = fields["v"] if bv is None else _finite(index, "v + bv", fields["v"] + bv)
    elif not kinds and "s" not in fields and bv is not None:
        # Nothing but the base value: the record is "bv + 0".
        value = bv
    total = None
    if "s" in fields or bs is not None:
        total = _finite(index, "s + bs", fields.get("s", 0.0) + (bs or 0.0))
    if not kinds and value is None and total is None:
        raise InvalidMessage(f"record {index}: exactly one of v, vs, vb, vd is required, or a sum s")

    time = base["bt"] + fields.get("t", 0.0)
    if time < RELATIVE_TIME_LIMIT:
        time += received_at
    if not 0.0 <= time < MAX_TIME:  # also false for inf and nan
        raise InvalidMessage(f"record {index}: time {time!r} is outside 1970-01-01..9999-12-31")

    return Measurement(name, fields.get("u", base["bu"]), time, fields.get("ut"), value, fields.get("vs"),
                       fields.get("vb"), fields.get("vd"), total)


# What each SenML field must hold; anything else is an extension (or must-understand).
_KIND = {**dict.fromkeys(_STRING_FIELDS, str), **dict.fromkeys(_NUMBER_FIELDS, float), "vb": bool, "bver": int}
# The kind of a field name that is not a string (possible in already-parsed input).
_NOT_A_NAME = object()
# Beyond this an int does not fit in a float.
_FLOAT_INT_LIMIT = 2**1023


def _typed_fields(index: int, record: dict) -> dict:
    """Check the types of the SenML fields of one record; numbers come back
    as floats. Unknown fields are dropped."""
    fields = {}
    for key, raw in record.items():
        kind = _KIND.get(key) if isinstance(key, str) else _NOT_A_NAME
        if kind is float:
            # Fast paths for the JSON numbers json.loads gives; _number has the whole rulebook.
            if type(raw) is float and raw - raw == 0.0:
                fields[key] = raw
            elif type(raw) is int and -_FLOAT_INT_LIMIT < raw < _FLOAT_INT_LIMIT:
                fields[key] = float(raw)
            else:
                fields[key] = _number(index, key, raw)
        elif kind is str:
            if not isinstance(raw, str):
                raise InvalidMessage(f"record {index}: {key} must be a string")
            if not _storable(raw):
                raise InvalidMessage(f"record {index}: {key} {_UNSTORABLE}")
            fields[key] = raw
        elif kind is bool:
            if not isinstance(raw, bool):
                raise InvalidMessage(f"record {index}: vb must be a boolean")
            fields[key] = raw
        elif kind is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise InvalidMessage(f"record {index}: bver must be an integer")
            # RFC 8428 section 4.4: never use a pack from a newer version.
            if not 1 <= raw <= SENML_VERSION:
                raise InvalidMessage(
                    f"record {index}: unsupported SenML version {raw}, must be 1 to {SENML_VERSION}")
        elif kind is _NOT_A_NAME:
            raise InvalidMessage(f"record {index}: field names must be strings")
        elif key.endswith("_"):
            # RFC 8428 section 4.4: a field ending in "_" must be understood,
            # so a pack we cannot fully interpret must not be used at all.
            raise InvalidMessage(f"record {index}: unsupported must-understand field {_short(key)}")
        # Any other field is an extension that may be ignored (section 4.4).
    return fields


def _number(index: int, key: str, raw) -> float:
    # bool is an int subclass in Python, but true is not a number in JSON.
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise InvalidMessage(f"record {index}: {key} must be a number")
    try:
        number = float(raw)
    except OverflowError:  # an int too big for a float
        number = math.inf
    return _finite(index, key, number)


def _finite(index: int, what: str, number: float) -> float:
    # json.loads turns 1e400 into inf, and big values can overflow when added.
    if not math.isfinite(number):
        raise InvalidMessage(f"record {index}: {what} is not a finite number")
    return number


def _check_json_values(docs: list) -> None:
    # Iterative, so deep documents cannot hit the recursion limit; containers
    # seen before are skipped, so shared or cyclic references terminate.
    seen = set()
    stack = list(docs)
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                if not all(isinstance(key, str) for key in item):
                    raise InvalidMessage("JSON object keys must be strings")
                if not all(map(_storable, item)):
                    raise InvalidMessage(f"JSON object key {_UNSTORABLE}")
                stack.extend(item.values())
            else:
                stack.extend(item)
        elif isinstance(item, str):
            if not _storable(item):
                raise InvalidMessage(f"JSON string {_UNSTORABLE}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidMessage("JSON numbers must be finite")
        elif item is not None and not isinstance(item, int):
            raise InvalidMessage(f"JSON payload holds a {type(item).__name__}, which is not JSON")


_UNSTORABLE = "holds a NUL character or a lone surrogate, which cannot be stored"


def _storable(text: str) -> bool:
    # Valid JSON escapes such as \u0000 and \ud800 give strings that are not
    # valid UTF-8 or that Postgres text and jsonb refuse: reject them here
    # rather than fail at insert time.
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(text: str, limit: int = 40) -> str:
    """repr() of text, cut so one bad field cannot flood the logs."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
