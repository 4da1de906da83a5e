"""Builders for the reader tests: rows written straight into PostgreSQL or into the backup table."""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import psycopg

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z

_SENML = ("id", "channel", "subtopic", "publisher", "protocol", "name", "unit", "time", "update_time", "value",
          "string_value", "bool_value", "data_value", "sum")
_JSON = ("id", "channel", "subtopic", "publisher", "protocol", "created", "payload")


def senml(channel: str, publisher: str, time: float, name: str = "temp", **fields) -> dict:
    row = {"id": str(uuid.uuid4()), "channel": channel, "subtopic": "", "publisher": publisher,
           "protocol": "mqtt", "name": name, "unit": None, "time": float(time), "update_time": None,
           "value": None, "string_value": None, "bool_value": None, "data_value": None, "sum": None}
    row.update(fields)
    return row


def json_doc(channel: str, publisher: str, created: float, payload: dict, **fields) -> dict:
    row = {"id": str(uuid.uuid4()), "channel": channel, "subtopic": "", "publisher": publisher,
           "protocol": "http", "created": float(created), "payload": payload}
    row.update(fields)
    return row


def insert(url: str, senml_rows: list[dict] = (), json_rows: list[dict] = ()) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        if senml_rows:
            cur.executemany(f"INSERT INTO messages ({', '.join(_SENML)}) VALUES ({', '.join(['%s'] * len(_SENML))})",
                            [[r[c] for c in _SENML] for r in senml_rows])
        if json_rows:
            cur.executemany(f"INSERT INTO json_messages ({', '.join(_JSON)}) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                            [[json.dumps(r[c]) if c == "payload" else r[c] for c in _JSON] for r in json_rows])


def put_backup(table, senml_rows: list[dict] = (), json_rows: list[dict] = ()) -> None:
    """The rows as the dual write puts them in DynamoDB (the lead's item layout)."""
    from chalicelib.backup import items

    with table.batch_writer() as batch:
        for row in senml_rows:
            batch.put_item(Item=items.senml_item(row))
        for row in json_rows:
            batch.put_item(Item=items.json_item(row))


def path(channel: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/channels/{channel}/messages" + (f"?{query}" if query else "")


def get_text(api, url: str, token: str | None = None, **headers):
    """A GET whose body is not JSON (CSV): the response with .text."""
    if token:
        headers["Authorization"] = token if " " in token else f"Bearer {token}"
    response = api.client.http.get(url, headers=headers)
    response.text = response.body.decode()
    return response


def read_csv(text: str) -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))
