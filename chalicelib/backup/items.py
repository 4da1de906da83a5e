"""How entities and messages are laid out in the backup table (pk/sk strings).

The layout holds everything needed to rebuild PostgreSQL from the table alone:

    user#<id>          user              the user (password hash included)
    thing#<id>         thing             the thing (key HMAC + ciphertext, shares map)
    thing#<id>         channel#<cid>     a connection, seen from the thing
    thingkey#<hmac>    thingkey          key lookup for degraded authorization
    channel#<id>       channel           the channel
    channel#<id>       thing#<tid>       a connection, seen from the channel
    msgs#<channel>     <ms:016d>#<id>    a SenML record (row columns as attributes)
    json#<channel>     <ms:016d>#<id>    a JSON message
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from chalicelib.entities import Channel, Thing, User
from chalicelib.security import thing_keys


def version(value: datetime) -> str:
    """Timestamps as the backup stores them: UTC ISO 8601, comparable as strings."""
    return value.astimezone(timezone.utc).isoformat()



def user_item(u: User) -> dict[str, Any]:
    return {"pk": f"user#{u.id}", "sk": "user", "kind": "user", "id": u.id, "name": u.name,
            "identity": u.identity, "secret_hash": u.secret_hash, "tags": json.dumps(u.tags),
            "metadata": json.dumps(u.metadata), "role": u.role, "status": u.status,
            "created_at": version(u.created_at), "updated_at": version(u.updated_at)}


def thing_item(t: Thing, data_key: str, shares: dict[str, str]) -> dict[str, Any]:
    return {"pk": f"thing#{t.id}", "sk": "thing", "kind": "thing", "id": t.id, "owner_id": t.owner_id,
            "name": t.name, "identity": t.identity,
            "key_hash": thing_keys.lookup_hash(data_key, t.key).hex(),
            "key_enc": thing_keys.encrypt(data_key, t.key).hex(),
            "tags": json.dumps(t.tags), "metadata": json.dumps(t.metadata), "status": t.status,
            "shares": json.dumps(shares), "created_at": version(t.created_at), "updated_at": version(t.updated_at)}


def thing_key_item(thing_id: str, key_hash_hex: str) -> dict[str, Any]:
    return {"pk": f"thingkey#{key_hash_hex}", "sk": "thingkey", "kind": "thingkey", "thing_id": thing_id}


def channel_item(c: Channel) -> dict[str, Any]:
    return {"pk": f"channel#{c.id}", "sk": "channel", "kind": "channel", "id": c.id, "owner_id": c.owner_id,
            "name": c.name, "description": c.description, "metadata": json.dumps(c.metadata),
            "status": c.status, "created_at": version(c.created_at), "updated_at": version(c.updated_at)}


def connection_items(channel_id: str, thing_id: str) -> list[dict[str, Any]]:
    common = {"kind": "connection", "channel_id": channel_id, "thing_id": thing_id}
    return [{"pk": f"channel#{channel_id}", "sk": f"thing#{thing_id}", **common},
            {"pk": f"thing#{thing_id}", "sk": f"channel#{channel_id}", **common}]


# DynamoDB numbers span 1E-130 to 9.99...E+125; SenML values are any finite double.
_DYNAMO_SMALLEST = Decimal("1E-130")
_DYNAMO_LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")


def _number(value: float | None) -> Decimal | str | None:
    """DynamoDB numbers are decimals; repr keeps every bit of the float. A double outside
    DynamoDB's range is kept as its repr text, which float() reads back exactly."""
    if value is None:
        return None
    number = Decimal(repr(value))
    if number and not _DYNAMO_SMALLEST <= abs(number) <= _DYNAMO_LARGEST:
        return repr(value)
    return number


def time_key(seconds: float) -> str:
    """A time as the 16 digits of milliseconds that sort the backup's messages. Stored times fit
    (SenML keeps them in 1970..9999); a query bound beyond them is clamped to an end."""
    return f"{int(min(max(seconds * 1000, 0.0), 9e15)):016d}"


def message_sort_key(seconds: float, message_id: str) -> str:
    return f"{time_key(seconds)}#{message_id}"


def senml_item(row: dict) -> dict[str, Any]:
    item = {"pk": f"msgs#{row['channel']}", "sk": message_sort_key(row["time"], row["id"]), "kind": "senml"}
    for key, value in row.items():
        if value is None:
            continue
        item[key] = _number(value) if isinstance(value, float) else value
    return item


def json_item(row: dict) -> dict[str, Any]:
    return {"pk": f"json#{row['channel']}", "sk": message_sort_key(row["created"], row["id"]), "kind": "json",
            "id": row["id"], "channel": row["channel"], "subtopic": row["subtopic"],
            "publisher": row["publisher"], "protocol": row["protocol"], "created": _number(row["created"]),
            "payload": json.dumps(row["payload"])}


def row_from_senml_item(item: dict) -> dict[str, Any]:
    """Back to a PostgreSQL row (for repair and degraded reads)."""
    row = {k: item.get(k) for k in ("id", "channel", "subtopic", "publisher", "protocol", "name", "unit",
                                     "time", "update_time", "value", "string_value", "bool_value",
                                     "data_value", "sum")}
    for key in ("time", "update_time", "value", "sum"):
        if row[key] is not None:
            row[key] = float(row[key])
    return row


def row_from_json_item(item: dict) -> dict[str, Any]:
    return {"id": item["id"], "channel": item["channel"], "subtopic": item["subtopic"],
            "publisher": item["publisher"], "protocol": item["protocol"], "created": float(item["created"]),
            "payload": json.loads(item["payload"])}
