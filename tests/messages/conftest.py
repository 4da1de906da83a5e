"""A platform with its backup switched on: PostgreSQL behind a cuttable proxy, moto for AWS."""
from __future__ import annotations


import pytest

from tests.support.faulty_proxy import FaultyProxy


@pytest.fixture
def pg_proxy(db):
    host = db.split("host=")[1].split("&")[0]
    proxy = FaultyProxy(f"{host}/.s.PGSQL.5432")
    yield proxy
    proxy.close()


@pytest.fixture
def platform(db, pg_proxy, monkeypatch):
    """Services wired as in AWS (backup table + retry queue), talking to PostgreSQL through the proxy."""
    from moto import mock_aws

    from chalicelib.container import reset, services
    from chalicelib.store import db as dbmod

    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        from devstack.aws import create_resources

        for key, value in create_resources().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{pg_proxy.port}/postgres")
        monkeypatch.setattr(dbmod, "CONNECT_TIMEOUT", 1.0)
        monkeypatch.setattr(dbmod, "FAIL_FAST_SECONDS", 0.3)
        reset()
        yield services()
        for pool in list(dbmod._pools.values()):
            pool.close()
        dbmod._pools.clear()
        reset()


@pytest.fixture
def fleet(api, platform):
    """An owner's channel with three things connected to it: (token, things, channel)."""
    _, token = api.user("owner@example.com")
    things = [api.thing(token, name=f"t{i}") for i in range(3)]
    channel = api.channel(token, name="plant")
    r = api.call("POST", "/connect", {"thing_ids": [t["id"] for t in things], "channel_id": channel["id"]},
                 token)
    assert r.status_code == 201
    return token, things, channel


@pytest.fixture
def stranger(api, fleet):
    """A thing of the same owner that is not connected to the fleet's channel."""
    return api.thing(fleet[0], name="stranger")


@pytest.fixture
def poller(platform):
    """The retry Lambda fed by its queue, as Lambda's event source does it (drain() in tests)."""
    import app
    from devstack.sqs_poller import SqsPoller

    return SqsPoller(platform.queue.url, app.retry, visibility_timeout=0, wait_seconds=0)
