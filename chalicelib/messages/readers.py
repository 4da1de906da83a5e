"""Reading stored messages back: what a request asks for, who may see it, and where it is read from.

Magistrala v0.14.0's reader semantics (readers/postgres), with its known bugs fixed:

- ``v=0`` and ``vb=false`` are real filters (Magistrala drops zero values).
- ``aggregation`` (MIN, MAX, AVG, SUM, COUNT) with ``interval`` buckets is computed
  (Magistrala's postgres reader accepts and ignores it).
- ``comparator`` applies to ``v`` and ``vd`` as ``= < <= > >=``; on ``vs`` it keeps
  Magistrala's substring meaning: ``gt``/``ge`` = the stored string contains ``vs``
  (``gt`` excluding equality), ``lt``/``le`` = ``vs`` contains the stored string.
- ``from`` is inclusive, ``to`` exclusive, both in seconds since the epoch.

No SQL and no AWS here: the PostgreSQL queries are in chalicelib/store/messages_pg.py,
the DynamoDB fallback in chalicelib/backup/dynamo_reader.py. Both implement the small
ports below, so this module is testable with fakes.

Example::

    query = MessageQuery.from_params({"name": "temp", "v": "0", "limit": "50"})
    page = service.read(ReadCredentials(user_token=token), channel_id, query)
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib import query_params
from chalicelib.errors import BadRequest, Forbidden, NotFound, Unauthenticated, Unavailable

MAX_LIMIT = 1000
DEFAULT_LIMIT = 10
# An export without `limit` stops here: a Lambda response holds at most 6 MB (~130 bytes a row).
CSV_MAX_ROWS = 30_000
# After PostgreSQL was found unreachable, go straight to the backup for this long instead of
# making every request wait for the connection timeout again.

COMPARATORS = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
AGGREGATIONS = ("MIN", "MAX", "AVG", "SUM", "COUNT")
FORMATS = ("messages", "json", "csv")

# Columns of a SenML row as served (Magistrala's senml.Message field names; no id), in CSV order.
SENML_COLUMNS = ("channel", "subtopic", "publisher", "protocol", "name", "unit", "time", "update_time",
                 "value", "string_value", "bool_value", "data_value", "sum")
JSON_COLUMNS = ("id", "channel", "created", "subtopic", "publisher", "protocol", "payload")
BUCKET_COLUMNS = ("time", "name", "value")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

# Interval units: Go's time.ParseDuration (what later Magistrala readers validate with) plus
# days and weeks, and PostgreSQL-style words ("1 hour", "15 minutes"). No months: not fixed-length.
_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_INTERVAL_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zµ]+)", re.IGNORECASE)
MIN_INTERVAL = 0.001
MAX_INTERVAL = 366 * 86400.0
WEEK = 604800.0
# 1970-01-05T00:00Z, a Monday: week buckets start on Mondays, as in PostgreSQL's date_trunc('week').
MONDAY = 4 * 86400.0


@dataclass(frozen=True)
class Interval:
    """An aggregation bucket width; buckets are aligned to the epoch (weeks: to Mondays), in UTC."""

    text: str
    seconds: float

    @property
    def origin(self) -> float:
        return MONDAY if self.seconds % WEEK == 0 else 0.0

    def bucket(self, t: float) -> float:
        """Start of the bucket holding time t (the same arithmetic as the SQL, so both agree)."""
        return math.floor((t - self.origin) / self.seconds) * self.seconds + self.origin

    @classmethod
    def parse(cls, text: str) -> Interval:
        raw = (text or "").strip()
        total, pos = 0.0, 0
        while pos < len(raw):
            match = _INTERVAL_PART.match(raw, pos)
            unit = _UNITS.get(match.group(2).lower()) if match else None
            if unit is None:
                raise BadRequest(f"interval {text!r} is not a duration such as 30s, 15m, 1h, 1d or 1w")
            total += float(match.group(1)) * unit
            pos = match.end()
        if not raw or not MIN_INTERVAL <= total <= MAX_INTERVAL:
            raise BadRequest(f"interval {text!r} is not a duration between 1ms and 366d (e.g. 15m, 1h, 1d)")
        return cls(text=raw, seconds=total)


def wants_csv(accept: str | None) -> bool:
    """True when text/csv is the Accept header's preferred media type (highest q, first among equals)."""
    best, best_q = None, 0.0
    for part in (accept or "").split(","):
        media, *options = (p.strip().lower() for p in part.split(";"))
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media and q > best_q:
            best, best_q = media, q
    return best == "text/csv"


@dataclass(frozen=True)
class MessageQuery:
    """One validated read: filters, page, and the shape of the answer."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT
    table: str = "messages"  # messages (SenML rows) | json (JSON documents)
    csv: bool = False
    limit_given: bool = False  # a CSV export without `limit` returns every row (up to CSV_MAX_ROWS)
    subtopic: str | None = None
    publisher: str | None = None
    protocol: str | None = None
    name: str | None = None
    value: float | None = None
    comparator: str = "eq"
    string_value: str | None = None
    bool_value: bool | None = None
    data_value: str | None = None
    from_: float | None = None
    to: float | None = None
    aggregation: str | None = None
    interval: Interval | None = None

    @classmethod
    def from_params(cls, params: dict | None, accept: str | None = None) -> MessageQuery:
        """Validate query string parameters; every problem is a BadRequest naming the parameter."""
        params = params or {}
        fmt = (query_params.text(params, "format") or "messages").lower()
        if fmt not in FORMATS:
            raise BadRequest("format must be messages, json or csv")
        comparator = (query_params.text(params, "comparator") or "eq").lower()
        if comparator not in COMPARATORS:
            raise BadRequest("comparator must be one of eq, lt, le, gt, ge")
        publisher = query_params.text(params, "publisher")
        if publisher is not None and not _UUID.match(publisher):
            raise BadRequest("publisher must be a thing id (UUID)")
        query = cls(
            # Past any real table size, an offset only has to stay a valid bigint.
            offset=min(query_params.integer(params, "offset", 0, 0, None), 2**62),
            limit=query_params.integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
            limit_given=query_params.text(params, "limit") is not None,
            table="json" if fmt == "json" else "messages",
            csv=fmt == "csv" or wants_csv(accept),
            subtopic=query_params.text(params, "subtopic"),
            publisher=publisher.lower() if publisher else None,
            protocol=query_params.text(params, "protocol"),
            name=query_params.text(params, "name"),
            value=query_params.number(params, "v"),
            comparator=comparator,
            string_value=query_params.text(params, "vs"),
            bool_value=query_params.boolean(params, "vb"),
            data_value=query_params.text(params, "vd"),
            from_=query_params.number(params, "from"),
            to=query_params.number(params, "to"),
        )
        if query.table == "json":
            given = [p for p, v in (("name", query.name), ("v", query.value), ("vs", query.string_value),
                                    ("vb", query.bool_value), ("vd", query.data_value)) if v is not None]
            if given:
                raise BadRequest(f"{', '.join(given)} filter SenML values and do not apply to format=json")
        aggregation = query_params.text(params, "aggregation")
        if aggregation is None:
            if query_params.text(params, "interval") is not None:
                raise BadRequest("interval needs aggregation (MIN, MAX, AVG, SUM or COUNT)")
            return query
        aggregation = aggregation.upper()
        if aggregation not in AGGREGATIONS:
            raise BadRequest("aggregation must be one of MIN, MAX, AVG, SUM, COUNT")
        if query.table == "json":
            raise BadRequest("aggregation applies to SenML values, not to format=json")
        if query.from_ is None or query.to is None:
            raise BadRequest("aggregation needs both from and to (seconds since the epoch)")
        if query.from_ >= query.to:
            raise BadRequest("from must be before to")
        interval_text = query_params.text(params, "interval")
        if interval_text is None:
            raise BadRequest("aggregation needs an interval such as 15m, 1h or 1d")
        return replace(query, aggregation=aggregation, interval=Interval.parse(interval_text))

    @property
    def op(self) -> str:
        return COMPARATORS[self.comparator]

    @property
    def time_column(self) -> str:
        return "created" if self.table == "json" else "time"

    def echo(self) -> dict[str, Any]:
        """The filters in effect, as Magistrala repeats them in the page (only those given)."""
        out: dict[str, Any] = {}
        for key, value in (("subtopic", self.subtopic), ("publisher", self.publisher),
                           ("protocol", self.protocol), ("name", self.name), ("v", self.value),
                           ("vs", self.string_value), ("vb", self.bool_value), ("vd", self.data_value),
                           ("from", self.from_), ("to", self.to)):
            if value is not None:
                out[key] = value
        if any(v is not None for v in (self.value, self.string_value, self.data_value)):
            out["comparator"] = self.comparator
        if self.table == "json":
            out["format"] = "json"
        return out

    def matches(self, row: dict) -> bool:
        """The same filter in Python (for the backup reader); must agree with the SQL."""
        for key, wanted in (("subtopic", self.subtopic), ("protocol", self.protocol), ("name", self.name)):
            if wanted is not None and row.get(key) != wanted:
                return False
        if self.publisher is not None and str(row.get("publisher", "")).lower() != self.publisher:
            return False
        t = row.get(self.time_column)
        if self.from_ is not None and (t is None or t < self.from_):
            return False
        if self.to is not None and (t is None or t >= self.to):
            return False
        if self.value is not None and not _compare(row.get("value"), self.op, self.value):
            return False
        if self.bool_value is not None and row.get("bool_value") is not self.bool_value:
            return False
        if self.data_value is not None and not _compare(row.get("data_value"), self.op, self.data_value):
            return False
        if self.string_value is not None and not _string_matches(row.get("string_value"), self.comparator,
                                                                 self.string_value):
            return False
        if self.aggregation is not None and row.get("value") is None:
            return False
        return True


def _compare(stored: Any, op: str, wanted: Any) -> bool:
    if stored is None:
        return False
    return {"=": stored == wanted, "<": stored < wanted, "<=": stored <= wanted,
            ">": stored > wanted, ">=": stored >= wanted}[op]


def _string_matches(stored: str | None, comparator: str, wanted: str) -> bool:
    if stored is None:
        return False
    if comparator == "eq":
        return stored == wanted
    if comparator in ("gt", "ge"):
        return wanted in stored and (comparator == "ge" or stored != wanted)
    return stored in wanted and (comparator == "le" or stored != wanted)


def aggregate(rows: Iterable[dict], query: MessageQuery) -> list[dict]:
    """Buckets of (interval start, name) with the aggregate of `value`, newest first, then by name.

    The Python twin of the SQL in messages_pg (used on backup rows, and by the tests as the oracle).
    Rows without a numeric value are not aggregated.
    """
    assert query.aggregation is not None and query.interval is not None
    groups: dict[tuple[float, str], list[float]] = {}
    for row in rows:
        if row.get("value") is None:
            continue
        groups.setdefault((query.interval.bucket(row["time"]), row["name"]), []).append(row["value"])
    fn: Callable[[list[float]], float | int] = {
        "MIN": min, "MAX": max, "SUM": math.fsum, "COUNT": len,
        "AVG": lambda vs: math.fsum(vs) / len(vs),
    }[query.aggregation]
    buckets = [{"time": t, "name": n, "value": fn(vs)} for (t, n), vs in groups.items()]
    buckets.sort(key=lambda b: b["name"])
    buckets.sort(key=lambda b: b["time"], reverse=True)
    return buckets


@dataclass
class MessagePage:
    """Rows as column -> value dicts (SenML_COLUMNS, JSON_COLUMNS or BUCKET_COLUMNS); total matches."""

    total: int
    messages: list[dict] = field(default_factory=list)
    degraded: bool = False  # served from the backup because PostgreSQL was unreachable


@dataclass
class Export:
    """The rows of a CSV export, in chunks; `truncated` is known once `chunks` is consumed."""

    chunks: Iterator[list[dict]]
    degraded: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class ReadCredentials:
    """Exactly one of: a user's access token, or a thing key."""

    user_token: str | None = None
    thing_key: str | None = None


# -- ports ---------------------------------------------------------------------

class MessageRepository(Protocol):
    """PostgreSQL (chalicelib/store/messages_pg.py). Raises Unavailable when unreachable."""

    def read(self, channel_id: str, query: MessageQuery) -> MessagePage: ...

    def export(self, channel_id: str, query: MessageQuery, max_rows: int) -> Iterator[list[dict]]: ...


class BackupMessageReader(Protocol):
    """The DynamoDB backup, read when PostgreSQL is down (chalicelib/backup/dynamo_reader.py).

    read: the same query semantics as MessageRepository.read, newest first.
    channel_access: may the user with this id read the channel? Checked against the backup's copy of the
    user (must exist and be enabled; admins may read any channel) and of the channel (user must own it).
    Both raise Unavailable when the backup cannot be reached either.
    """

    def read(self, channel_id: str, query: MessageQuery) -> MessagePage: ...

    def channel_access(self, channel_id: str, user_id: str) -> bool: ...


class _Users(Protocol):
    def authenticate(self, access_token: str) -> Any: ...


class _Channels(Protocol):
    def view(self, caller: Any, channel_id: str) -> Any: ...


class _Things(Protocol):
    def identify(self, key: str | None) -> Any: ...


class _Connections(Protocol):
    def is_connected(self, channel_id: str, thing_id: str) -> bool: ...


# -- the service ---------------------------------------------------------------

class ReaderService:
    """Authorizes a read, runs it on PostgreSQL, and falls back to the backup when PostgreSQL is down.

    Who may read a channel's messages:
    - a user token of the channel's owner, or of an administrator (ChannelService.view decides;
      anyone else gets 404, so a channel's existence is not revealed);
    - a thing key (`Thing <key>`, bare key, Basic) of an enabled thing connected to the channel
      (unknown or disabled key: 401; valid key, not connected: 403).

    Degraded mode (PostgreSQL unreachable, a backup configured): only user tokens are accepted. The
    token's signature and expiry are checked locally (`token_subject`), then the backup's copies of the
    user and channel (`BackupMessageReader.channel_access`). Thing keys get 503: their lookup needs the
    database. Answers say `degraded=True`; the route marks them with `X-Degraded: backup`.
    """

    def __init__(self, messages: MessageRepository, users: _Users, channels: _Channels, things: _Things,
                 connections: _Connections, backup: BackupMessageReader | None = None,
                 token_subject: Callable[[str], str] | None = None) -> None:
        self.messages = messages
        self.users = users
        self.channels = channels
        self.things = things
        self.connections = connections
        self.backup = backup
        self.token_subject = token_subject

    def authorize(self, creds: ReadCredentials, channel_id: str) -> None:
        if creds.user_token:
            self.channels.view(self.users.authenticate(creds.user_token), channel_id)
            return
        if not creds.thing_key:
            raise Unauthenticated("send 'Authorization: Bearer <user token>' or 'Authorization: Thing <key>'")
        thing = self.things.identify(creds.thing_key)
        if not self.connections.is_connected(channel_id, thing.id):
            raise Forbidden("this thing is not connected to the channel")

    def read(self, creds: ReadCredentials, channel_id: str, query: MessageQuery) -> MessagePage:
        # While PostgreSQL is down, Database fails fast (DB_FAIL_FAST_SECONDS), so trying it first
        # on every request costs nothing.
        try:
            self.authorize(creds, channel_id)
            return self.messages.read(channel_id, query)
        except Unavailable:
            if self.backup is None:
                raise
        return self._read_backup(creds, channel_id, query)

    def export(self, creds: ReadCredentials, channel_id: str, query: MessageQuery) -> Export:
        """Rows for a CSV export: the page asked for, or without `limit` every row up to CSV_MAX_ROWS.

        The stores are asked for one row more than the cap, to tell a cut export from an exact fit.
        """
        cap = query.limit if query.limit_given else CSV_MAX_ROWS
        wanted = cap if query.limit_given else cap + 1
        export = Export(chunks=iter(()))
        if query.aggregation:
            page = self.read(creds, channel_id, replace(query, limit=wanted))
            export.chunks, export.degraded = iter([page.messages]), page.degraded
        else:
            try:
                self.authorize(creds, channel_id)
                chunks = self.messages.export(channel_id, query, wanted)
                first = next(chunks, [])  # opens the transaction: an unreachable database shows here
                export.chunks = _prepend(first, chunks)
            except Unavailable:
                if self.backup is None:
                    raise
                export = self._export_backup(creds, channel_id, replace(query, limit=wanted))
        export.chunks = _capped(export, export.chunks, cap)
        return export

    # -- degraded mode -----------------------------------------------------------

    def _authorize_degraded(self, creds: ReadCredentials, channel_id: str) -> None:
        assert self.backup is not None
        if not creds.user_token or self.token_subject is None:
            raise Unavailable("the database is unavailable; until it is back, messages can be read from the "
                              "backup with the channel owner's user token only")
        if not self.backup.channel_access(channel_id, self.token_subject(creds.user_token)):
            raise NotFound("channel not found")

    def _read_backup(self, creds: ReadCredentials, channel_id: str, query: MessageQuery) -> MessagePage:
        self._authorize_degraded(creds, channel_id)
        assert self.backup is not None
        page = self.backup.read(channel_id, query)
        page.degraded = True
        return page

    def _export_backup(self, creds: ReadCredentials, channel_id: str, query: MessageQuery) -> Export:
        return Export(chunks=iter([self._read_backup(creds, channel_id, query).messages]), degraded=True)


def _prepend(first: list[dict], rest: Iterator[list[dict]]) -> Iterator[list[dict]]:
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()


def _capped(export: Export, chunks: Iterator[list[dict]], cap: int) -> Iterator[list[dict]]:
    """Pass at most `cap` rows on; a row beyond them marks the export truncated."""
    sent = 0
    try:
        for chunk in chunks:
            if sent + len(chunk) > cap:
                export.truncated = True
                chunk = chunk[:cap - sent]
            sent += len(chunk)
            if chunk:
                yield chunk
            if export.truncated:
                return
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # a store generator gives its connection back now, not at garbage collection
