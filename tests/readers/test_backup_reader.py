"""The DynamoDB backup reader on its own (moto): the same answers as PostgreSQL, and its access check."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.backup.dynamo_reader import DynamoBackupReader
from chalicelib.errors import Unavailable
from chalicelib.messages.readers import MessageQuery
from tests.readers.cases import CASES, dataset
from tests.readers.helpers import T0, put_backup, senml

TABLE = "readers-backup"


@pytest.fixture(scope="module")
def table():
    """One moto table for the module (the rows are only read)."""
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as mp, mock_aws():
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        import boto3

        dynamodb = boto3.resource("dynamodb")
        yield dynamodb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])


@pytest.fixture(scope="module")
def reader(table):
    return DynamoBackupReader(TABLE, table=table)


@pytest.fixture(scope="module")
def backup_rows(table):
    channel, publisher = str(uuid.uuid4()), str(uuid.uuid4())
    rows = dataset(channel, publisher)
    put_backup(table, list(rows.values()))
    put_backup(table, [senml(str(uuid.uuid4()), publisher, T0, value=0.0)])  # another channel
    return channel, rows


@pytest.mark.parametrize("params,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_backup_reader_filters_like_postgres(reader, backup_rows, params, expected):
    channel, rows = backup_rows
    page = reader.read(channel, MessageQuery.from_params({**params, "limit": "100"}))
    by_time = {r["time"]: label for label, r in rows.items()}
    assert {by_time[m["time"]] for m in page.messages} == expected
    assert page.total == len(expected)
    assert [m["time"] for m in page.messages] == sorted((m["time"] for m in page.messages), reverse=True)


def test_backup_reader_pages(reader, backup_rows):
    channel, rows = backup_rows
    ordered = sorted((r["time"] for r in rows.values()), reverse=True)
    for offset, limit in ((0, 3), (3, 3), (12, 5), (20, 5)):
        page = reader.read(channel, MessageQuery(offset=offset, limit=limit))
        assert [m["time"] for m in page.messages] == ordered[offset:offset + limit]
        assert page.total == len(rows)


def test_backup_reader_refuses_huge_ranges(table, backup_rows):
    reader = DynamoBackupReader(TABLE, table=table, max_items=5)
    with pytest.raises(Unavailable, match="narrow"):
        reader.read(backup_rows[0], MessageQuery())
    page = reader.read(backup_rows[0], MessageQuery.from_params({"from": str(T0 + 100)}))  # only 4 rows there
    assert page.total == 4


def test_backup_reader_channel_access(reader, table):
    from chalicelib.backup import items
    from chalicelib.entities import Channel, User

    def user(role="user", status="enabled"):
        u = User(id=str(uuid.uuid4()), identity="x@example.com", secret_hash="-", role=role, status=status)
        table.put_item(Item=items.user_item(u))
        return u.id

    def channel_of(owner):
        c = Channel(id=str(uuid.uuid4()), owner_id=owner)
        table.put_item(Item=items.channel_item(c))
        return c.id

    owner_id, admin_id, other_id, disabled_id = user(), user(role="admin"), user(), user(status="disabled")
    channel = channel_of(owner_id)
    assert reader.channel_access(channel, owner_id)
    assert reader.channel_access(channel, admin_id)
    assert not reader.channel_access(channel, other_id)
    assert not reader.channel_access(str(uuid.uuid4()), admin_id)
    assert not reader.channel_access(channel, str(uuid.uuid4()))
    disabled_channel = channel_of(disabled_id)
    assert not reader.channel_access(disabled_channel, disabled_id)


def test_backup_reader_json_documents_and_time_range(reader, table):
    from tests.readers.helpers import json_doc

    channel = str(uuid.uuid4())
    docs = [json_doc(channel, str(uuid.uuid4()), T0 + i + 0.25, {"i": i, "f": 0.5}) for i in range(5)]
    put_backup(table, json_rows=docs)
    page = reader.read(channel, MessageQuery.from_params({"format": "json", "from": str(T0 + 1.25),
                                                          "to": str(T0 + 4.25)}))
    assert [m["payload"] for m in page.messages] == [{"i": 3, "f": 0.5}, {"i": 2, "f": 0.5}, {"i": 1, "f": 0.5}]
    assert page.messages[0] == {**docs[3], "payload": {"i": 3, "f": 0.5}}


def test_backup_reader_aggregates_like_postgres(reader, backup_rows):
    from chalicelib.messages.readers import aggregate

    channel, rows = backup_rows
    query = MessageQuery.from_params({"aggregation": "avg", "interval": "30s", "from": str(T0), "to": str(T0 + 200),
                                      "limit": "100"})
    page = reader.read(channel, query)
    assert page.messages == aggregate(rows.values(), query) and page.total == len(page.messages)
    assert {m["name"] for m in page.messages} == {"temp", "hum", "energy"}
