"""PostgreSQL down: reads come from the DynamoDB backup (moto), marked degraded, owner tokens only."""
from __future__ import annotations

import socket
import uuid

import pytest

from chalicelib.entities import Channel, User
from chalicelib.messages.readers import MessageQuery, aggregate
from tests.readers.cases import dataset
from tests.readers.helpers import T0, get_text, json_doc, path, put_backup, read_csv


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    with mock_aws():
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        from devstack.aws import create_resources

        env = create_resources()
        import boto3

        yield env, boto3.resource("dynamodb").Table(env["BACKUP_TABLE"])


class Backup:
    """What the dual write would have put in the backup for a user, a channel and its messages."""

    def __init__(self, table) -> None:
        self.table = table

    def user(self, role: str = "user", status: str = "enabled") -> tuple[str, str]:
        from chalicelib.backup import items
        from chalicelib.config import settings
        from chalicelib.security import tokens

        user = User(id=str(uuid.uuid4()), identity=f"{uuid.uuid4().hex[:8]}@example.com", secret_hash="-",
                    role=role, status=status)
        self.table.put_item(Item=items.user_item(user))
        return user.id, tokens.issue(settings().jwt_secret, user.id, tokens.ACCESS, 3600)

    def channel(self, owner_id: str) -> str:
        from chalicelib.backup import items

        channel = Channel(id=str(uuid.uuid4()), owner_id=owner_id, name="room")
        self.table.put_item(Item=items.channel_item(channel))
        return channel.id


@pytest.fixture
def backup(aws):
    return Backup(aws[1])


@pytest.fixture
def pg_down(api, aws, monkeypatch):
    """The app wired with the backup, its PostgreSQL on a port where nothing listens."""
    from chalicelib.container import reset
    from chalicelib.store import db as dbmod

    url = _dead_url()
    for key, value in aws[0].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(dbmod, "CONNECT_TIMEOUT", 1.0)
    reset()
    yield
    dbmod.Database(url).close()
    reset()


@pytest.fixture
def owned(backup):
    """An owner (id, token), their channel and its SenML rows, in the backup only."""
    owner_id, token = backup.user()
    channel = backup.channel(owner_id)
    publisher = str(uuid.uuid4())
    rows = dataset(channel, publisher)
    put_backup(backup.table, list(rows.values()))
    return owner_id, token, channel, rows


def _assert_degraded(r):
    assert r.headers["X-Degraded"] == "backup"
    assert "backup" in r.headers["Warning"] and r.headers["Warning"].startswith("199 ")


def test_owner_reads_from_the_backup(api, pg_down, owned):
    _, token, channel, rows = owned
    r = api.call("GET", path(channel, limit=100), token=token)
    assert r.status_code == 200, r.json
    _assert_degraded(r)
    assert r.json["total"] == len(rows)
    newest = sorted(rows.values(), key=lambda row: row["time"], reverse=True)
    assert [m["time"] for m in r.json["messages"]] == [row["time"] for row in newest]
    s3 = next(m for m in r.json["messages"] if m["time"] == rows["s3"]["time"])
    assert s3 == {"channel": channel, "publisher": rows["s3"]["publisher"], "protocol": "mqtt",
                  "name": "status", "time": rows["s3"]["time"], "string_value": "50%_x"}


def test_filters_and_real_zero_filters_in_degraded_mode(api, pg_down, owned):
    _, token, channel, rows = owned
    r = api.call("GET", path(channel, v=0), token=token)
    assert [m["time"] for m in r.json["messages"]] == [rows["t0"]["time"]]
    r = api.call("GET", path(channel, vb="false"), token=token)
    assert [m["time"] for m in r.json["messages"]] == [rows["b0"]["time"]]
    _assert_degraded(r)


def test_aggregation_in_degraded_mode(api, pg_down, owned):
    _, token, channel, rows = owned
    params = {"aggregation": "SUM", "interval": "1m", "from": T0, "to": T0 + 1000}
    r = api.call("GET", path(channel, **params), token=token)
    assert r.status_code == 200, r.json
    _assert_degraded(r)
    want = aggregate(rows.values(), MessageQuery.from_params({k: str(v) for k, v in params.items()}))
    assert r.json["messages"][:10] == want[:10] and r.json["total"] == len(want)


def test_csv_in_degraded_mode(api, pg_down, owned):
    _, token, channel, rows = owned
    r = get_text(api, path(channel, format="csv"), token)
    assert r.status_code == 200
    _assert_degraded(r)
    assert len(read_csv(r.text)) == len(rows)


def test_json_documents_in_degraded_mode(api, pg_down, backup):
    owner_id, token = backup.user()
    channel = backup.channel(owner_id)
    docs = [json_doc(channel, str(uuid.uuid4()), T0 + i, {"n": i, "deep": {"x": 1.5}}) for i in range(3)]
    put_backup(backup.table, json_rows=docs)
    r = api.call("GET", path(channel, format="json", limit=2), token=token)
    assert r.status_code == 200
    assert r.json["total"] == 3
    assert [m["payload"] for m in r.json["messages"]] == [{"n": 2, "deep": {"x": 1.5}}, {"n": 1, "deep": {"x": 1.5}}]
    assert r.json["messages"][0]["id"] == docs[2]["id"]


def test_admin_reads_in_degraded_mode(api, pg_down, backup, owned):
    _, admin = backup.user(role="admin")
    r = api.call("GET", path(owned[2]), token=admin)
    assert r.status_code == 200 and r.json["total"] == len(owned[3])


def test_other_users_get_404_in_degraded_mode(api, pg_down, backup, owned):
    _, stranger = backup.user()
    r = api.call("GET", path(owned[2]), token=stranger)
    assert r.status_code == 404 and "messages" not in r.json
    r = api.call("GET", path(str(uuid.uuid4())), token=owned[1])  # no such channel in the backup
    assert r.status_code == 404


def test_disabled_or_unknown_user_gets_nothing_in_degraded_mode(api, pg_down, backup):
    owner_id, token = backup.user(status="disabled")
    channel = backup.channel(owner_id)
    assert api.call("GET", path(channel), token=token).status_code == 404
    from chalicelib.config import settings
    from chalicelib.security import tokens

    ghost = tokens.issue(settings().jwt_secret, str(uuid.uuid4()), tokens.ACCESS, 3600)
    assert api.call("GET", path(channel), token=ghost).status_code == 404


def test_thing_keys_and_bad_tokens_in_degraded_mode(api, pg_down, owned):
    r = api.call("GET", path(owned[2]), headers={"Authorization": "Thing some-thing-key-1234567"})
    assert r.status_code == 503 and "owner" in r.json["message"]
    assert api.call("GET", path(owned[2]), token="not-a-jwt").status_code == 401
    assert api.call("GET", path(owned[2])).status_code == 401


def test_backup_unreachable_too_is_503(api, pg_down, owned, monkeypatch):
    from chalicelib.container import reset

    monkeypatch.setenv("BACKUP_TABLE", "no-such-table")
    reset()
    r = api.call("GET", path(owned[2]), token=owned[1])
    assert r.status_code == 503 and r.json["error"] == "service unavailable"


def test_without_a_backup_postgres_down_is_503(api, monkeypatch):
    from chalicelib.container import reset
    from chalicelib.store import db as dbmod

    url = _dead_url()
    monkeypatch.delenv("BACKUP_TABLE", raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(dbmod, "CONNECT_TIMEOUT", 1.0)
    reset()
    try:
        from chalicelib.config import settings
        from chalicelib.security import tokens

        token = tokens.issue(settings().jwt_secret, str(uuid.uuid4()), tokens.ACCESS, 3600)
        r = api.call("GET", path(str(uuid.uuid4())), token=token)
        assert r.status_code == 503
    finally:
        dbmod.Database(url).close()
        reset()
