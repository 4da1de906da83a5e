"""The DynamoDB side of the dual write. Every operation is idempotent."""
from __future__ import annotations

from typing import Any

from chalicelib.backup import items


class BackupUnavailable(RuntimeError):
    """DynamoDB refused or could not be reached; the caller queues a retry."""


def _errors():
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


class DynamoBackup:
    def __init__(self, table_name: str, data_key: str) -> None:
        import boto3  # deferred: keeps module import cheap on cold start

        self.table = boto3.resource("dynamodb").Table(table_name)
        self.data_key = data_key
        self._failures = _errors()

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self._failures as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                return None  # a newer version is already there: nothing to do
            raise BackupUnavailable(f"backup write failed: {code or exc}") from exc

    # -- entities ------------------------------------------------------------

    def put_entity(self, item: dict[str, Any]) -> dict | None:
        """Put unless the table already holds a newer version (concurrent syncs may race)."""
        result = self._call(
            self.table.put_item, Item=item, ReturnValues="ALL_OLD",
            ConditionExpression="attribute_not_exists(pk) OR updated_at <= :u",
            ExpressionAttributeValues={":u": item["updated_at"]},
        )
        return (result or {}).get("Attributes")

    def put_thing(self, item: dict[str, Any]) -> None:
        old = self.put_entity(item)
        self._call(self.table.put_item, Item=items.thing_key_item(item["id"], item["key_hash"]))
        if old and old.get("key_hash") and old["key_hash"] != item["key_hash"]:
            # The key was rotated: the old key must no longer authorize anything.
            self._call(self.table.delete_item, Key={"pk": f"thingkey#{old['key_hash']}", "sk": "thingkey"})

    def delete_entity(self, pk: str) -> None:
        """Delete an entity and every connection item hanging off it, both directions."""
        below = self.query(pk)
        with self.table.batch_writer() as batch:
            for item in below:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                if item.get("kind") == "connection":
                    mirror = [i for i in items.connection_items(item["channel_id"], item["thing_id"])
                              if i["pk"] != pk][0]
                    batch.delete_item(Key={"pk": mirror["pk"], "sk": mirror["sk"]})
                if item.get("kind") == "thing" and item.get("key_hash"):
                    batch.delete_item(Key={"pk": f"thingkey#{item['key_hash']}", "sk": "thingkey"})

    def put_connection(self, channel_id: str, thing_id: str) -> None:
        for item in items.connection_items(channel_id, thing_id):
            self._call(self.table.put_item, Item=item)

    def delete_connection(self, channel_id: str, thing_id: str) -> None:
        for item in items.connection_items(channel_id, thing_id):
            self._call(self.table.delete_item, Key={"pk": item["pk"], "sk": item["sk"]})

    def get(self, pk: str, sk: str) -> dict | None:
        result = self._call(self.table.get_item, Key={"pk": pk, "sk": sk}, ConsistentRead=True)
        return (result or {}).get("Item")

    def query(self, pk: str, **kwargs: Any) -> list[dict]:
        from boto3.dynamodb.conditions import Key

        condition = Key("pk").eq(pk)
        if "sk_between" in kwargs:
            low, high = kwargs.pop("sk_between")
            condition = condition & Key("sk").between(low, high)
        found: list[dict] = []
        params: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True, **kwargs}
        while True:
            page = self._call(self.table.query, **params)
            found.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def scan(self, kind: str | None = None):
        """Every item (or every item of one kind), page by page: for verify and repair."""
        from boto3.dynamodb.conditions import Attr

        params: dict[str, Any] = {}
        if kind:
            params["FilterExpression"] = Attr("kind").eq(kind)
        while True:
            page = self._call(self.table.scan, **params)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- messages --------------------------------------------------------------

    def write_messages(self, senml_rows: list[dict], json_rows: list[dict]) -> None:
        """Batch puts; the deterministic sort keys make a replay overwrite itself, not add."""
        def write():
            with self.table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
                for row in senml_rows:
                    batch.put_item(Item=items.senml_item(row))
                for row in json_rows:
                    batch.put_item(Item=items.json_item(row))
        self._call(write)
