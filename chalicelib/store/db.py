"""One small psycopg pool per Lambda container, reused across warm invocations.

RDS Proxy friendly: no session state is set and server-side prepared statements
are off (prepare_threshold=None), because a proxy may hand each transaction a
different backend connection. A broken connection is detected by the pool's
check on checkout and replaced.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from chalicelib.errors import Unavailable

_lock = threading.Lock()
_pools: dict[str, ConnectionPool] = {}

# How long a request waits for a connection before answering 503.
CONNECT_TIMEOUT = float(os.environ.get("DB_TIMEOUT", "5"))
# After a connection failure, fail fast for this long instead of making every caller wait
# CONNECT_TIMEOUT: during an outage ingestion queues its retries at full speed.
FAIL_FAST_SECONDS = float(os.environ.get("DB_FAIL_FAST_SECONDS", "2"))


def _pool(url: str, size: int) -> ConnectionPool:
    pool = _pools.get(url)
    if pool is None:
        with _lock:
            pool = _pools.get(url)
            if pool is None:
                pool = ConnectionPool(
                    url,
                    min_size=0,
                    max_size=max(1, size),
                    kwargs={
                        "prepare_threshold": None,
                        "row_factory": dict_row,
                        "connect_timeout": max(1, int(CONNECT_TIMEOUT)),
                    },
                    check=ConnectionPool.check_connection,
                    timeout=CONNECT_TIMEOUT,
                    open=True,
                    name="platform",
                )
                _pools[url] = pool
    return pool


# SQLSTATE classes that say the server cannot work now, whatever the statement: connection
# exception, transaction rollback (deadlock, serialization), insufficient resources, object not
# in prerequisite state (lock timeout), operator intervention (shutdown), system error; and a
# read-only transaction (a writer endpoint still pointing at the old primary after a failover).
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "55", "57", "58"})
_READ_ONLY = "25006"


def _unavailable(exc: Exception) -> bool:
    """Whether the database is out of reach or busy, rather than refusing one statement (an
    index entry too large, a bad value): only the first may fail requests fast for a while."""
    if isinstance(exc, PoolTimeout):
        return True
    state = getattr(exc, "sqlstate", None)
    if state is None:  # raised by the client: the connection was lost or never made
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
    return state[:2] in _TRANSIENT_CLASSES or state == _READ_ONLY


class Database:
    """Hands out transactions; maps "database unreachable" to 503."""

    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self.pool_size = pool_size
        self._down_until = 0.0

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        if time.monotonic() < self._down_until:
            raise Unavailable("database unavailable, try again shortly")
        try:
            with _pool(self.url, self.pool_size).connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            if not _unavailable(exc):
                raise  # the statement's own error: the database is fine
            self._down_until = time.monotonic() + FAIL_FAST_SECONDS
            raise Unavailable("database unavailable, try again shortly") from exc

    def close(self) -> None:
        pool = _pools.pop(self.url, None)
        if pool is not None:
            pool.close()
