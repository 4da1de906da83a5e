"""The readers API: GET /channels/{channel_id}/messages (Magistrala v0.14.0's reader service).

Registered in app.py with ``app.register_blueprint(readers.bp)``.
"""
from __future__ import annotations

import csv
import io
import json
import os
from functools import partial
from operator import itemgetter
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import http
from chalicelib.config import settings
from chalicelib.container import services
from chalicelib.errors import Unauthenticated
from chalicelib.messages.readers import (
    BUCKET_COLUMNS,
    JSON_COLUMNS,
    SENML_COLUMNS,
    MessagePage,
    MessageQuery,
    ReadCredentials,
    ReaderService,
)
from chalicelib.security import thing_keys, tokens
from chalicelib.store.db import Database
from chalicelib.store.messages_pg import PostgresMessages

bp = Blueprint(__name__)

DEGRADED_HEADERS = {
    "X-Degraded": "backup",
    "Warning": '199 - "PostgreSQL is unavailable: served from the DynamoDB backup, which may lag behind"',
}
_EXPOSE = {"Access-Control-Expose-Headers": "X-Degraded, Warning, X-Truncated"}
# Magistrala leaves these out when empty (Go's omitempty on strings and on update_time).
_OMIT_EMPTY = ("subtopic", "name", "unit", "update_time")


@bp.route("/channels/{channel_id}/messages", methods=["GET"])
def read_messages(channel_id):
    """Messages of one channel, newest first.

    Authorization: ``Bearer <user token>`` of the channel's owner or an admin (others: 404),
    or ``Thing <key>`` / a bare key / Basic with the key as password, of an enabled thing
    connected to the channel (bad key: 401, not connected: 403).

    Query: offset (>= 0), limit (1..1000, default 10), subtopic, publisher, protocol, name,
    v with comparator (eq|lt|le|gt|ge, default eq; also applies to vd, and to vs as substring
    tests), vs, vb, vd, from and to (seconds since the epoch; from inclusive, to exclusive),
    format (messages | json | csv), aggregation (MIN|MAX|AVG|SUM|COUNT) with interval.

    200, format=messages (SenML rows; null fields left out)::

        {"offset": 0, "limit": 10, "total": 42, <filters as given>,
         "messages": [{"channel", "subtopic", "publisher", "protocol", "name", "unit", "time",
                       "update_time", "value" | "string_value" | "bool_value" | "data_value", "sum"}]}

    200, format=json (JSON documents)::

        {"offset", "limit", "total", "format": "json",
         "messages": [{"id", "channel", "created", "subtopic", "publisher", "protocol", "payload"}]}

    200, with aggregation (needs from, to and interval: 30s, 15m, 1h, 1d, 1w, 1h30m, "1 hour"):
    one bucket per interval and SenML name holding numeric values, aggregating ``value``;
    buckets are aligned to the epoch (weeks: to Mondays) and paged by offset/limit::

        {"aggregation": "AVG", "interval": "1h", "from": ..., "to": ..., "offset", "limit",
         "total": <buckets>, "messages": [{"time": <bucket start>, "name": "temp", "value": 21.5}]}

    CSV (format=csv or ``Accept: text/csv``): a header row with the column names, then the
    rows (SenML columns, JSON document columns for format=json, or time,name,value buckets).
    Without ``limit`` it exports every matching row up to 30,000 (``X-Truncated: true`` when
    there were more; continue with ``to`` or ``offset``).

    When PostgreSQL is unreachable the answer comes from the DynamoDB backup and carries
    ``X-Degraded: backup`` and a ``Warning``; only user tokens are accepted then (thing keys: 503).
    """
    request = bp.current_request
    channel_id = http.uuid_param(channel_id, "channel id")
    query = MessageQuery.from_params(request.query_params, request.headers.get("accept"))
    creds = credentials(request.headers.get("authorization"))
    service = reader_service()
    if query.csv:
        export = service.export(creds, channel_id, query)
        body = csv_text(_columns(query), export.chunks)  # consumes the chunks: truncated is known after
        headers = {"Content-Type": "text/csv; charset=utf-8",
                   "Content-Disposition": f'attachment; filename="{channel_id}-messages.csv"'}
        if export.truncated:
            headers.update({"X-Truncated": "true", **_EXPOSE})
        if export.degraded:
            headers.update({**DEGRADED_HEADERS, **_EXPOSE})
        return Response(body=body, status_code=200, headers=headers)
    page = service.read(creds, channel_id, query)
    headers = {**DEGRADED_HEADERS, **_EXPOSE} if page.degraded else {}
    return Response(body=page_body(query, page), status_code=200, headers=headers)


def credentials(header: str | None) -> ReadCredentials:
    """A user token from `Bearer <token>`; otherwise a thing key (`Thing <key>`, bare key, Basic)."""
    header = (header or "").strip()
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return ReadCredentials(user_token=rest.strip())
    key = thing_keys.from_authorization(header)
    if not key:
        raise Unauthenticated("send 'Authorization: Bearer <user token>' or 'Authorization: Thing <thing key>'")
    return ReadCredentials(thing_key=key)


def senml_message(row: dict) -> dict[str, Any]:
    return {k: row[k] for k in SENML_COLUMNS
            if row.get(k) is not None and not (k in _OMIT_EMPTY and not row[k])}


def json_message(row: dict) -> dict[str, Any]:
    return {k: row.get(k) for k in JSON_COLUMNS}


def page_body(query: MessageQuery, page: MessagePage) -> dict[str, Any]:
    body: dict[str, Any] = {**query.echo(), "offset": query.offset, "limit": query.limit, "total": page.total}
    if query.aggregation is not None:
        assert query.interval is not None
        body.update(aggregation=query.aggregation, interval=query.interval.text, messages=page.messages)
    else:
        shape = json_message if query.table == "json" else senml_message
        body["messages"] = [shape(r) for r in page.messages]
    return body


def _columns(query: MessageQuery) -> tuple[str, ...]:
    if query.aggregation is not None:
        return BUCKET_COLUMNS
    return JSON_COLUMNS if query.table == "json" else SENML_COLUMNS


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def csv_text(columns: tuple[str, ...], chunks) -> str:
    """RFC 4180 CSV: a header row, then one line per row, written chunk by chunk.

    The csv module already writes None as an empty cell and numbers and strings as they are;
    only booleans (true/false) and JSON payloads need converting, so only their columns are touched.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    pick = itemgetter(*columns)
    special = [i for i, c in enumerate(columns) if c in ("bool_value", "payload")]

    def fix(values: tuple) -> list:
        cells = list(values)
        for i in special:
            cells[i] = _cell(cells[i])
        return cells

    for chunk in chunks:
        writer.writerows(map(fix, map(pick, chunk)) if special else map(pick, chunk))
    return out.getvalue()


# -- wiring: one ReaderService per container, rebuilt when the core services are ---------------

_wired: tuple[Any, ReaderService] | None = None


def _token_subject(secret: str, token: str) -> str:
    return tokens.verify(secret, token, tokens.ACCESS)["sub"]


def reader_service() -> ReaderService:
    global _wired
    core = services()
    if _wired is None or _wired[0] is not core:
        s = settings()
        backup = None
        if os.environ.get("BACKUP_TABLE"):
            from chalicelib.backup.dynamo_reader import DynamoBackupReader

            writer = getattr(core, "backup", None)  # share the writer's boto3 table when there is one
            backup = DynamoBackupReader(os.environ["BACKUP_TABLE"], table=getattr(writer, "table", None))
        service = ReaderService(
            messages=PostgresMessages(Database(s.database_url, s.db_pool_size)),
            users=core.users, channels=core.channels, things=core.things, connections=core.store,
            backup=backup, token_subject=partial(_token_subject, s.jwt_secret),
        )
        _wired = (core, service)
    return _wired[1]
