"""Database: an unreachable server answers Unavailable, and then fails fast for a while."""
from __future__ import annotations

import socket
import time

import pytest

from chalicelib.errors import Unavailable
from chalicelib.store import db as dbmod


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: connections are refused


def test_fails_fast_after_a_failure_then_tries_again(monkeypatch):
    monkeypatch.setattr(dbmod, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(dbmod, "FAIL_FAST_SECONDS", 0.5)
    attempts = []
    real_pool = dbmod._pool
    monkeypatch.setattr(dbmod, "_pool", lambda url, size: attempts.append(url) or real_pool(url, size))
    database = dbmod.Database(f"postgresql://nobody@127.0.0.1:{_dead_port()}/none", 1)
    try:
        with pytest.raises(Unavailable), database.transaction():
            pass
        assert len(attempts) == 1
        start = time.monotonic()
        with pytest.raises(Unavailable), database.transaction():
            pass
        assert len(attempts) == 1  # inside the window the server is not even tried
        time.sleep(max(0.0, 0.6 - (time.monotonic() - start)))
        with pytest.raises(Unavailable), database.transaction():
            pass
        assert len(attempts) == 2  # window over: tried again
    finally:
        database.close()


@pytest.mark.parametrize("statement, error", [
    ("SELECT 1 / 0", "DivisionByZero"),                             # class 22: the statement's data
    ("SELECT repeat(md5(g::text), 200)::tsvector FROM generate_series(1, 20000) g",
     "ProgramLimitExceeded"),                                       # class 54, an OperationalError
])
def test_a_statement_refused_is_not_an_outage(database_url, statement, error):
    import psycopg

    database = dbmod.Database(database_url, 1)
    try:
        with pytest.raises(psycopg.Error) as raised, database.transaction() as conn:
            conn.execute(statement)
        assert type(raised.value).__name__ == error and not isinstance(raised.value, Unavailable)
        with database.transaction() as conn:  # no fail-fast window: the next caller is served
            assert conn.execute("SELECT 1 AS one").fetchone()["one"] == 1
    finally:
        database.close()
