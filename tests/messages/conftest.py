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
