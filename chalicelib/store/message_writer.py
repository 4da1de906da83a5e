"""Writes normalized message rows to PostgreSQL, idempotently and in one statement per table.

`INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING` sends a whole pack in
one round trip, and a replayed pack inserts nothing.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from chalicelib.store.db import Database

_SENML_COLUMNS = (
    ("id", "uuid"), ("channel", "uuid"), ("subtopic", "text"), ("publisher", "uuid"), ("protocol", "text"),
    ("name", "text"), ("unit", "text"), ("time", "float8"), ("update_time", "float8"), ("value", "float8"),
    ("string_value", "text"), ("bool_value", "bool"), ("data_value", "text"), ("sum", "float8"),
)
_JSON_COLUMNS = (
    ("id", "uuid"), ("channel", "uuid"), ("subtopic", "text"), ("publisher", "uuid"), ("protocol", "text"),
    ("created", "float8"), ("payload", "jsonb"),
)


def _insert(table: str, columns: tuple) -> str:
    names = ", ".join(c for c, _ in columns)
    arrays = ", ".join(f"%s::{t}[]" for _, t in columns)
    return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) ON CONFLICT (id) DO NOTHING"


_INSERT_SENML = _insert("messages", _SENML_COLUMNS)
_INSERT_JSON = _insert("json_messages", _JSON_COLUMNS)


class PostgresMessageWriter:
    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, senml_rows: list[dict], json_rows: list[dict]) -> None:
        """Both tables in one transaction: a message is stored whole or not at all."""
        with self.db.transaction() as conn:
            if senml_rows:
                conn.execute(_INSERT_SENML, [[r[c] for r in senml_rows] for c, _ in _SENML_COLUMNS])
            if json_rows:
                params = [[r[c] for r in json_rows] for c, _ in _JSON_COLUMNS[:-1]]
                params.append([json.dumps(r["payload"]) for r in json_rows])
                conn.execute(_INSERT_JSON, params)

    def record_rejection(self, channel: str | None, publisher: str, protocol: str, topic: str, reason: str,
                         payload: bytes, received_at: float) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rejected_messages (id, channel, publisher, protocol, topic, reason, payload,"
                " received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (str(uuid.uuid4()), channel, publisher[:200], protocol, topic[:512], reason[:1000],
                 payload[:1024].decode("utf-8", "replace"), datetime.fromtimestamp(received_at, timezone.utc)),
            )

    def rejections(self, channel: str, offset: int, limit: int) -> tuple[int, list[dict]]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT publisher, protocol, topic, reason, payload, received_at, count(*) OVER () AS total"
                " FROM rejected_messages WHERE channel = %s ORDER BY received_at DESC LIMIT %s OFFSET %s",
                (channel, limit, offset),
            ).fetchall()
        total = rows[0]["total"] if rows else 0
        return total, [{k: v for k, v in r.items() if k != "total"} for r in rows]

