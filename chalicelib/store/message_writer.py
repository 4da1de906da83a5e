"""Writes normalized message rows to PostgreSQL: COPY, idempotently, one transaction per batch.

COPY is the fastest way into PostgreSQL (about twice an INSERT ... SELECT FROM unnest here,
see BENCHMARKS.md) but has no ON CONFLICT. Rows are copied as the caller produces them. Rows have deterministic ids, so a replay or a
redelivery brings ids that are already stored: the COPY then fails on the primary key, and
the batch is copied again without the ids found in the table. Duplicates are rare (a replay,
a QoS 1 resend), so the common case pays nothing for them. No temporary tables and no session
settings: RDS Proxy can still multiplex the connection.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from operator import itemgetter

import psycopg

from chalicelib.errors import Unavailable, Unstorable
from chalicelib.store.db import Database

log = logging.getLogger("platform.ingest")

_SENML_COLUMNS = ("id", "channel", "subtopic", "publisher", "protocol", "name", "unit", "time", "update_time",
                  "value", "string_value", "bool_value", "data_value", "sum")
_JSON_COLUMNS = ("id", "channel", "subtopic", "publisher", "protocol", "created", "payload")
_senml_values = itemgetter(*_SENML_COLUMNS)
_json_values = itemgetter(*_JSON_COLUMNS[:-1])
# SQLSTATE classes that blame the rows themselves: data exception, integrity constraint violation,
# program limit exceeded (an index entry too large). Any other error (a read-only replica during a
# failover, a missing table) is the database's state, and the batch is retried, never rejected.
_REFUSED_CLASSES = ("22", "23", "54")


def _refused(exc: psycopg.Error) -> bool:
    if exc.sqlstate is None:  # raised by the client while sending, e.g. a NUL in a text value
        return isinstance(exc, psycopg.DataError)
    return exc.sqlstate[:2] in _REFUSED_CLASSES


# A COPY that keeps meeting ids stored meanwhile by a concurrent writer gives up after this many tries.
_ATTEMPTS = 5


def _json_row(row: dict) -> tuple:
    return (*_json_values(row), json.dumps(row["payload"]))


def _unique(rows: list[dict]) -> list[dict]:
    """First row of each id: a pack naming the same record twice stores it once."""
    if len({r["id"] for r in rows}) == len(rows):
        return rows
    seen: set[str] = set()
    return [r for r in rows if not (r["id"] in seen or seen.add(r["id"]))]


class PostgresMessageWriter:
    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, senml_rows: list[dict], json_rows: list[dict]) -> None:
        self.write_parts([(senml_rows, json_rows)])

    def write_parts(self, parts: Iterable[tuple[list[dict], list[dict]]]) -> None:
        """The (SenML rows, JSON rows) of several messages in one transaction, whole or not at all.

        `parts` may be lazy: SenML rows are copied as they come, so a caller that normalizes
        message by message keeps PostgreSQL busy meanwhile (1.4x the throughput of normalizing a
        whole batch first, measured on 100k records).

        Raises Unavailable while PostgreSQL is out of reach, Unstorable when it refuses what the
        rows hold (the caller finds the message at fault)."""
        try:
            self._write_parts(iter(parts))
        except psycopg.Error as exc:  # the server answered (else Unavailable), with an error
            reason = exc.diag.message_primary or str(exc)
            if _refused(exc):
                raise Unstorable(f"PostgreSQL cannot store it: {reason}") from exc
            raise Unavailable(f"PostgreSQL cannot store messages now: {reason}") from exc

    def _write_parts(self, parts: Iterator[tuple[list[dict], list[dict]]]) -> None:
        taken: list[tuple[list[dict], list[dict]]] = []
        try:
            with self.db.transaction() as conn:
                self._copy_as_they_come(conn, parts, taken)
            return
        except psycopg.errors.UniqueViolation:
            log.info("some rows of the batch are stored already; copying the others")
        taken.extend(parts)  # what the failed COPY had not read yet
        senml_rows = _unique([r for senml, _ in taken for r in senml])
        json_rows = _unique([r for _, json_part in taken for r in json_part])
        for _ in range(_ATTEMPTS - 1):
            try:
                with self.db.transaction() as conn:
                    senml_rows = self._not_stored(conn, "messages", senml_rows)
                    json_rows = self._not_stored(conn, "json_messages", json_rows)
                    self._copy(conn, "messages", _SENML_COLUMNS, map(_senml_values, senml_rows))
                    self._copy(conn, "json_messages", _JSON_COLUMNS, map(_json_row, json_rows))
                return
            except psycopg.errors.UniqueViolation:
                log.info("rows of the batch were stored concurrently; copying the others")
        raise Unavailable("could not store the batch: its rows keep being written concurrently")

    def _copy_as_they_come(self, conn: psycopg.Connection, parts: Iterator, taken: list) -> None:
        seen: set[str] = set()
        json_rows: list[dict] = []

        def senml_values() -> Iterator[tuple]:
            for part in parts:
                taken.append(part)
                json_rows.extend(part[1])
                for row in part[0]:
                    if row["id"] not in seen:  # a pack naming the same record twice stores it once
                        seen.add(row["id"])
                        yield _senml_values(row)

        self._copy(conn, "messages", _SENML_COLUMNS, senml_values())
        self._copy(conn, "json_messages", _JSON_COLUMNS, map(_json_row, _unique(json_rows)))

    @staticmethod
    def _not_stored(conn: psycopg.Connection, table: str, rows: list[dict]) -> list[dict]:
        if not rows:
            return rows
        stored = {str(r["id"]) for r in conn.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s::uuid[])", [[r["id"] for r in rows]])}
        return [r for r in rows if r["id"] not in stored]

    @staticmethod
    def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], values: Iterable[tuple]) -> None:
        values = iter(values)
        first = next(values, None)
        if first is None:
            return
        with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write_row(first)
            for row in values:
                copy.write_row(row)

    def record_rejections(self, rejections: list[dict]) -> None:
        """What was refused and why, for the channel's owner: one statement for a batch."""
        rows = [(str(uuid.uuid4()), r["channel"], r["publisher"][:200], r["protocol"], r["topic"][:512],
                 r["reason"][:1000], r["payload"][:1024].decode("utf-8", "replace"),
                 datetime.fromtimestamp(r["received_at"], timezone.utc)) for r in rejections]
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO rejected_messages (id, channel, publisher, protocol, topic, reason, payload,"
                " received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)

    def rejections(self, channel: str, offset: int, limit: int) -> tuple[int, list[dict]]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT publisher, protocol, topic, reason, payload, received_at, count(*) OVER () AS total"
                " FROM rejected_messages WHERE channel = %s ORDER BY received_at DESC LIMIT %s OFFSET %s",
                (channel, limit, offset),
            ).fetchall()
        total = rows[0]["total"] if rows else 0
        return total, [{k: v for k, v in r.items() if k != "total"} for r in rows]

