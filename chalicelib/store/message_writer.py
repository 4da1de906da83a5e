"""Writes normalized message rows to PostgreSQL: COPY, idempotently, one transaction per batch.

COPY is the fastest way into PostgreSQL (about twice an INSERT ... SELECT FROM unnest here,
see BENCHMARKS.md) but has no ON CONFLICT. Rows have deterministic ids, so a replay or a
redelivery brings ids that are already stored: the COPY then fails on the primary key, and
the batch is copied again without the ids found in the table. Duplicates are rare (a replay,
a QoS 1 resend), so the common case pays nothing for them. No temporary tables and no session
settings: RDS Proxy can still multiplex the connection.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from operator import itemgetter

import psycopg

from chalicelib.errors import Unavailable
from chalicelib.store.db import Database

log = logging.getLogger("platform.ingest")

_SENML_COLUMNS = ("id", "channel", "subtopic", "publisher", "protocol", "name", "unit", "time", "update_time",
                  "value", "string_value", "bool_value", "data_value", "sum")
_JSON_COLUMNS = ("id", "channel", "subtopic", "publisher", "protocol", "created", "payload")
_senml_values = itemgetter(*_SENML_COLUMNS)
_json_values = itemgetter(*_JSON_COLUMNS[:-1])
# A COPY that keeps meeting ids stored meanwhile by a concurrent writer gives up after this many tries.
_ATTEMPTS = 5


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
        """Both tables in one transaction: a batch is stored whole or not at all."""
        senml_rows, json_rows = _unique(senml_rows), _unique(json_rows)
        for attempt in range(_ATTEMPTS):
            try:
                with self.db.transaction() as conn:
                    if attempt:
                        senml_rows = self._not_stored(conn, "messages", senml_rows)
                        json_rows = self._not_stored(conn, "json_messages", json_rows)
                    self._copy(conn, "messages", _SENML_COLUMNS, [_senml_values(r) for r in senml_rows])
                    self._copy(conn, "json_messages", _JSON_COLUMNS,
                               [(*_json_values(r), json.dumps(r["payload"])) for r in json_rows])
                return
            except psycopg.errors.UniqueViolation:
                log.info("some rows of the batch are stored already; copying the others")
        raise Unavailable("could not store the batch: its rows keep being written concurrently")

    @staticmethod
    def _not_stored(conn: psycopg.Connection, table: str, rows: list[dict]) -> list[dict]:
        if not rows:
            return rows
        stored = {str(r["id"]) for r in conn.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s::uuid[])", [[r["id"] for r in rows]])}
        return [r for r in rows if r["id"] not in stored]

    @staticmethod
    def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], values: list[tuple]) -> None:
        if values:
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
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

