"""Reads messages from the DynamoDB backup while PostgreSQL is unreachable (degraded, read-only).

Implements chalicelib.messages.readers.BackupMessageReader on the layout of
chalicelib/backup/items.py:

    msgs#<channel>   <ms:016d>#<id>   a SenML row (its columns as attributes)
    json#<channel>   <ms:016d>#<id>   a JSON document (payload as JSON text)
    channel#<id>     channel          the channel (owner_id)
    user#<id>        user             the user (status, role)

A read is one Query on the channel's partition with `sk BETWEEN` the from/to bounds (in
milliseconds, so the bounds are widened to whole milliseconds and the exact filter runs in
Python with MessageQuery.matches, as do all other filters), newest first. The total needs
every matching item, so a read without from/to walks the channel's whole partition: it stops
with a 503 past MAX_ITEMS items, asking for a narrower time range.

Authorization in degraded mode cannot use PostgreSQL. channel_access answers from the
backup's copies: the user must exist and be enabled, and either own the channel or be an
administrator. The user id comes from the access token, whose signature and expiry the service
has already checked; a token stays usable for its lifetime (1 h by default) even if the user
was disabled after the last successful backup write.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from chalicelib.backup.items import time_key
from chalicelib.errors import Unavailable
from chalicelib.messages.readers import MessagePage, MessageQuery, aggregate

MAX_ITEMS = 200_000
_LOW = "0" * 16
_HIGH = "9" * 16


def _plain(value: Any) -> Any:
    """DynamoDB decimals back to JSON numbers (ints stay ints), through nested payloads."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def senml_row(item: dict) -> dict:
    row: dict[str, Any] = {k: item.get(k) for k in ("channel", "subtopic", "publisher", "protocol", "name",
                                                     "unit", "string_value", "bool_value", "data_value")}
    row["subtopic"] = row["subtopic"] or ""
    for key in ("time", "update_time", "value", "sum"):
        row[key] = float(item[key]) if item.get(key) is not None else None
    return row


def json_row(item: dict) -> dict:
    payload = item.get("payload")
    return {"id": item.get("id"), "channel": item.get("channel"), "created": float(item["created"]),
            "subtopic": item.get("subtopic") or "", "publisher": item.get("publisher"),
            "protocol": item.get("protocol"),
            "payload": json.loads(payload) if isinstance(payload, str) else _plain(payload)}


def _sort_key(seconds: float | None, default: str) -> str:
    return default if seconds is None else time_key(seconds)


class DynamoBackupReader:
    def __init__(self, table_name: str, table: Any = None, max_items: int = MAX_ITEMS) -> None:
        self.table_name = table_name
        self._table = table
        self.max_items = max_items

    @property
    def table(self) -> Any:
        if self._table is None:
            import boto3  # deferred: only a degraded read pays for it

            self._table = boto3.resource("dynamodb").Table(self.table_name)
        return self._table

    def _call(self, fn, **kwargs) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable("the database and its backup are both unavailable, try again shortly") from exc

    def _get(self, pk: str, sk: str) -> dict | None:
        return self._call(self.table.get_item, Key={"pk": pk, "sk": sk}).get("Item")

    def channel_access(self, channel_id: str, user_id: str) -> bool:
        user = self._get(f"user#{user_id}", "user")
        if user is None or user.get("status") != "enabled":
            return False
        channel = self._get(f"channel#{channel_id}", "channel")
        return channel is not None and (user.get("role") == "admin" or channel.get("owner_id") == user_id)

    def _items(self, channel_id: str, q: MessageQuery) -> Iterator[dict]:
        from boto3.dynamodb.conditions import Key

        if q.from_ is not None and q.to is not None and q.from_ >= q.to:
            return  # an empty range; DynamoDB refuses a BETWEEN with its bounds inverted
        prefix = "json" if q.table == "json" else "msgs"
        low = _sort_key(q.from_, _LOW)
        high = _sort_key(q.to, _HIGH) + "~"  # "~" sorts after "#" and every id character
        params: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"{prefix}#{channel_id}") & Key("sk").between(low, high),
            "ScanIndexForward": False,  # newest first
        }
        seen = 0
        while True:
            page = self._call(self.table.query, **params)
            for item in page.get("Items", []):
                seen += 1
                if seen > self.max_items:
                    raise Unavailable(f"the database is unavailable and the backup holds more than "
                                      f"{self.max_items} messages in this range: narrow it with from and to")
                yield item
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def read(self, channel_id: str, q: MessageQuery) -> MessagePage:
        to_row = json_row if q.table == "json" else senml_row
        rows = (r for r in map(to_row, self._items(channel_id, q)) if q.matches(r))
        if q.aggregation is not None:
            buckets = aggregate(rows, q)
            return MessagePage(total=len(buckets), messages=buckets[q.offset:q.offset + q.limit])
        # Newest first by the sort key "<ms>#<id>": the order PostgreSQL gives (time, id descending)
        # except between rows of the same millisecond.
        page, total = [], 0
        for row in rows:
            if q.offset <= total < q.offset + q.limit:
                page.append(row)
            total += 1
        return MessagePage(total=total, messages=page)
