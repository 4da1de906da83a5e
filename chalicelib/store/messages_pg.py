"""PostgreSQL queries for reading messages (the tables of migrations/002_messages.sql).

Every read is one channel, optional filters, newest first. Pages run two statements in
one transaction (the page, then the count, skipped when the page itself shows the total);
aggregation groups into interval buckets in SQL; CSV exports stream through a server-side
cursor, chunk by chunk. Identifiers in the SQL come only from fixed tables below, never
from the request; every value is a bound parameter.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.messages.readers import JSON_COLUMNS, SENML_COLUMNS, MessagePage, MessageQuery
from chalicelib.store.db import Database

EXPORT_CHUNK = 1000


def _select(columns: tuple[str, ...]) -> str:
    # uuids as text in SQL: cheaper than turning uuid.UUID objects into strings row by row in Python.
    return ", ".join(f"{c}::text AS {c}" if c in ("id", "channel", "publisher") else c for c in columns)


_TABLES = {
    "messages": ("messages", _select(SENML_COLUMNS), "time"),
    "json": ("json_messages", _select(JSON_COLUMNS), "created"),
}
_AGGREGATES = {"MIN": "min(value)", "MAX": "max(value)", "AVG": "avg(value)", "SUM": "sum(value)",
               "COUNT": "count(value)"}


def _where(channel_id: str, q: MessageQuery) -> tuple[str, list[Any]]:
    time_col = _TABLES[q.table][2]
    clauses, params = ["channel = %s"], [channel_id]

    def add(clause: str, *values: Any) -> None:
        clauses.append(clause)
        params.extend(values)

    for column, wanted in (("subtopic", q.subtopic), ("publisher", q.publisher), ("protocol", q.protocol),
                           ("name", q.name)):
        if wanted is not None:
            add(f"{column} = %s", wanted)
    if q.value is not None:
        add(f"value {q.op} %s", q.value)
    if q.bool_value is not None:
        add("bool_value = %s", q.bool_value)
    if q.data_value is not None:
        add(f"data_value {q.op} %s", q.data_value)
    if q.string_value is not None:
        # Magistrala's meaning of comparators on strings: containment. strpos, not LIKE, so that
        # % and _ in the value are plain characters.
        vs = q.string_value
        if q.comparator == "eq":
            add("string_value = %s", vs)
        elif q.comparator == "ge":
            add("strpos(string_value, %s) > 0", vs)
        elif q.comparator == "gt":
            add("strpos(string_value, %s) > 0 AND string_value <> %s", vs, vs)
        elif q.comparator == "le":
            add("strpos(%s, string_value) > 0", vs)
        else:
            add("strpos(%s, string_value) > 0 AND string_value <> %s", vs, vs)
    if q.from_ is not None:
        add(f"{time_col} >= %s", q.from_)
    if q.to is not None:
        add(f"{time_col} < %s", q.to)
    if q.aggregation is not None:
        clauses.append("value IS NOT NULL")
    return " AND ".join(clauses), params


class PostgresMessages:
    """Implements chalicelib.messages.readers.MessageRepository."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def read(self, channel_id: str, q: MessageQuery) -> MessagePage:
        if q.aggregation is not None:
            return self._aggregate(channel_id, q)
        table, columns, time_col = _TABLES[q.table]
        where, params = _where(channel_id, q)
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {time_col} DESC, id DESC"
                " LIMIT %s OFFSET %s", [*params, q.limit, q.offset],
            ).fetchall()
            if len(rows) < q.limit and (rows or q.offset == 0):
                total = q.offset + len(rows)  # the page ends before the limit: it saw the last row
            else:
                total = conn.execute(f"SELECT count(*) AS n FROM {table} WHERE {where}", params).fetchone()["n"]
        return MessagePage(total=total, messages=rows)

    def _aggregate(self, channel_id: str, q: MessageQuery) -> MessagePage:
        assert q.interval is not None and q.aggregation is not None
        where, params = _where(channel_id, q)
        step, origin = q.interval.seconds, q.interval.origin
        # floor((t - origin) / step) * step + origin: the bucket start, the same arithmetic as
        # Interval.bucket in Python. Only buckets holding values appear (as TimescaleDB's time_bucket).
        grouped = (
            f"SELECT floor((time - %s) / %s) * %s + %s AS time, name, {_AGGREGATES[q.aggregation]} AS value"
            f" FROM messages WHERE {where} GROUP BY 1, 2"
        )
        grouped_params = [origin, step, step, origin, *params]
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT time, name, value, count(*) OVER () AS _total FROM ({grouped}) b"
                " ORDER BY time DESC, name LIMIT %s OFFSET %s", [*grouped_params, q.limit, q.offset],
            ).fetchall()
            if rows:
                total = rows[0]["_total"]
            else:
                total = conn.execute(f"SELECT count(*) AS n FROM ({grouped}) b", grouped_params).fetchone()["n"]
        return MessagePage(total=total, messages=[
            {"time": r["time"], "name": r["name"], "value": r["value"]} for r in rows])

    def export(self, channel_id: str, q: MessageQuery, max_rows: int) -> Iterator[list[dict]]:
        """Up to max_rows rows from q.offset on, in chunks, through a server-side cursor."""
        table, columns, time_col = _TABLES[q.table]
        where, params = _where(channel_id, q)
        with self.db.transaction() as conn, conn.cursor(name="messages_export") as cur:
            cur.execute(
                f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {time_col} DESC, id DESC"
                " LIMIT %s OFFSET %s", [*params, max_rows, q.offset],
            )
            while True:
                chunk = cur.fetchmany(EXPORT_CHUNK)
                if not chunk:
                    return
                yield chunk
