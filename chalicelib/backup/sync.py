"""Make the backup equal to PostgreSQL for one entity: the single mechanism behind the
live mirror and the retry replay. Reading the current row (instead of replaying the
write that failed) makes it order-independent and idempotent: replaying an old retry
after a newer write, or after a delete, cannot resurrect stale data.
"""
from __future__ import annotations

from typing import Any

from chalicelib.backup import items
from chalicelib.backup.dynamo import DynamoBackup


def user_key(user_id: str) -> dict:
    return {"v": 1, "kind": "sync", "entity": "user", "id": user_id}


def thing_key(thing_id: str) -> dict:
    return {"v": 1, "kind": "sync", "entity": "thing", "id": thing_id}


def channel_key(channel_id: str) -> dict:
    return {"v": 1, "kind": "sync", "entity": "channel", "id": channel_id}


def connection_key(channel_id: str, thing_id: str) -> dict:
    return {"v": 1, "kind": "sync", "entity": "connection", "channel_id": channel_id, "thing_id": thing_id}


class EntitySync:
    def __init__(self, primary: Any, backup: DynamoBackup) -> None:
        self.primary = primary
        self.backup = backup

    def sync(self, key: dict) -> None:
        entity = key["entity"]
        if entity == "user":
            user = self.primary.get_user(key["id"])
            if user is not None:
                self.backup.put_entity(items.user_item(user))
        elif entity == "thing":
            thing = self.primary.get_thing(key["id"])
            if thing is None:
                self.backup.delete_entity(f"thing#{key['id']}")
            else:
                shares = self.primary.thing_shares(thing.id)
                self.backup.put_thing(items.thing_item(thing, self.backup.data_key, shares))
        elif entity == "channel":
            channel = self.primary.get_channel(key["id"])
            if channel is None:
                self.backup.delete_entity(f"channel#{key['id']}")
            else:
                self.backup.put_entity(items.channel_item(channel))
        elif entity == "connection":
            if self.primary.is_connected(key["channel_id"], key["thing_id"]):
                self.backup.put_connection(key["channel_id"], key["thing_id"])
            else:
                self.backup.delete_connection(key["channel_id"], key["thing_id"])
        else:
            raise ValueError(f"unknown entity {entity!r}")
