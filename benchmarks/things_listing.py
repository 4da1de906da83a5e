"""How GET /things behaves with 100k things for one user.

    python -m benchmarks.things_listing [--things 100000] [--runs 60]

Starts its own PostgreSQL in a temporary directory (never the one in DATABASE_URL), applies the
migrations, bulk-loads users and things with COPY, then times GET /things pages through the whole
Chalice app (JWT check, user lookup, query, encoding) with chalice.test.Client. Every case is shown
against baselines measured in the same run: a bare `SELECT 1` round trip and the same page for a
user with 1k things. Numbers are for reading, not asserting.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.timing import percentile, sample

OTHER_USERS = 4
SMALL_USER_THINGS = 1_000


def _env() -> None:
    os.environ.pop("DATABASE_URL", None)  # always our own throwaway server
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
    os.environ.setdefault("DATA_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def _thing_rows(owner: str, count: int, data_key: str, start: datetime, prefix: str):
    from psycopg.types.json import Jsonb

    from chalicelib.security import thing_keys

    for i in range(count):
        key = secrets.token_urlsafe(32)
        created = start + timedelta(milliseconds=i)
        yield (
            str(uuid.uuid4()), owner, f"{prefix}-{i:06d}", "",
            thing_keys.lookup_hash(data_key, key), thing_keys.encrypt(data_key, key),
            [f"floor-{i % 10}", f"batch-{i // 1000}"],
            Jsonb({"floor": i % 10, "model": f"m{i % 50}", "serial": i}),
            "disabled" if i % 20 == 0 else "enabled", created, created,
        )


def load(url: str, things: int) -> dict:
    """Users and things with COPY; returns ids and tokens for the measurement."""
    import psycopg

    from chalicelib.config import settings
    from chalicelib.security import passwords, tokens

    s = settings()
    secret_hash = passwords.hash_password("bench-password")
    now = datetime.now(timezone.utc)
    users = {"big": str(uuid.uuid4()), "small": str(uuid.uuid4()), "admin": str(uuid.uuid4())}
    others = [str(uuid.uuid4()) for _ in range(OTHER_USERS)]
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY users (id, name, identity, secret_hash, role, created_at, updated_at)"
                          " FROM STDIN") as copy:
                for name, uid in [*users.items(), *((f"other{i}", u) for i, u in enumerate(others))]:
                    copy.write_row((uid, name, f"{name}@bench.example", secret_hash,
                                    "admin" if name == "admin" else "user", now, now))
            columns = ("id, owner_id, name, identity, key_hash, key_enc, tags, metadata, status, created_at,"
                       " updated_at")
            with cur.copy(f"COPY things ({columns}) FROM STDIN") as copy:
                start = now - timedelta(days=30)
                for row in _thing_rows(users["big"], things, s.data_key, start, "sensor"):
                    copy.write_row(row)
                for row in _thing_rows(users["small"], SMALL_USER_THINGS, s.data_key, start, "sensor"):
                    copy.write_row(row)
                for owner in others:
                    for row in _thing_rows(owner, things // 20, s.data_key, start, "device"):
                        copy.write_row(row)
            # one channel with every 10th of the big user's things connected
            channel = str(uuid.uuid4())
            cur.execute("INSERT INTO channels (id, owner_id, name, created_at, updated_at)"
                        " VALUES (%s, %s, 'bench', now(), now())", (channel, users["big"]))
            cur.execute("INSERT INTO connections (channel_id, thing_id, created_at)"
                        " SELECT %s, id, now() FROM things WHERE owner_id = %s AND (metadata->>'serial')::int %% 10 = 0",
                        (channel, users["big"]))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    loaded = time.perf_counter() - t0
    total = things + SMALL_USER_THINGS + OTHER_USERS * (things // 20)
    print(f"loaded {total:,} things ({things:,} for one user) in {loaded:.1f} s with COPY", flush=True)
    mint = {k: tokens.issue(s.jwt_secret, v, tokens.ACCESS, 3600) for k, v in users.items()}
    return {"tokens": mint, "channel": channel, "users": users}


def measure(world: dict, runs: int, things: int) -> list[tuple[str, float, float, int | None]]:
    import json

    from chalice.test import Client

    from app import app
    from chalicelib.container import services

    store = services().store
    results: list[tuple[str, float, float, int | None]] = []

    def select_one():
        with store.db.transaction() as conn:
            conn.execute("SELECT 1").fetchone()

    samples = sample(select_one, runs * 3)
    results.append(("baseline: SELECT 1 round trip", percentile(samples, .5), percentile(samples, .99), None))

    with Client(app) as client:
        def get(path: str, who: str, **params):
            url = f"{path}?{urlencode(params)}" if params else path
            headers = {"Authorization": f"Bearer {world['tokens'][who]}"}

            def call():
                r = client.http.get(url, headers=headers)
                assert r.status_code == 200, r.body[:300]
                return r
            return call

        cases = [
            ("baseline: GET /things, user with 1k", get("/things", "small")),
            ("GET /things (limit 10)", get("/things", "big")),
            ("GET /things limit=100", get("/things", "big", limit=100)),
            ("offset=1000", get("/things", "big", offset=1000)),
            ("offset=50000", get("/things", "big", offset=50_000)),
            (f"offset={things - 10} (last page)", get("/things", "big", offset=max(0, things - 10), status="all")),
            ("status=all", get("/things", "big", status="all")),
            ("status=disabled", get("/things", "big", status="disabled")),
            ("name=sensor-01 (10%)", get("/things", "big", name="sensor-01")),
            (f"name=sensor-{things - 1:06d} (1 match)", get("/things", "big", name=f"sensor-{things - 1:06d}")),
            ("name=zzz (no match)", get("/things", "big", name="zzz")),
            ("tag=floor-3 (10%)", get("/things", "big", tag="floor-3")),
            ("tag=batch-7 (1%)", get("/things", "big", tag="batch-7")),
            ('metadata={"model":"m7"} (2%)', get("/things", "big", metadata=json.dumps({"model": "m7"}))),
            ('metadata={"serial":123} (1)', get("/things", "big", metadata=json.dumps({"serial": 123}))),
            ("name+tag+metadata", get("/things", "big", name="sensor", tag="floor-7",
                                      metadata=json.dumps({"model": "m17"}))),
            ("admin: GET /things (all users)", get("/things", "admin")),
            ("GET /channels/{id}/things (10k linked)", get(f"/channels/{world['channel']}/things", "big")),
            ("... connected=false (90k)", get(f"/channels/{world['channel']}/things", "big", connected="false")),
        ]
        for label, call in cases:
            total = json.loads(call().body)["total"]
            samples = sample(call, runs)
            results.append((label, percentile(samples, .5), percentile(samples, .99), total))
    return results


def report(results) -> None:
    base_rt = results[0][1]
    base_page = next(r[1] for r in results if r[0].startswith("baseline: GET"))
    print()
    print(f"{'case':44} {'total':>8} {'p50 ms':>8} {'p99 ms':>8} {'x 1k-page':>10} {'x SELECT 1':>11}")
    print("-" * 94)
    for label, p50, p99, total in results:
        shown = "" if total is None else f"{total:,}"
        print(f"{label:44} {shown:>8} {p50:8.2f} {p99:8.2f} {p50 / base_page:10.2f} {p50 / base_rt:11.1f}")
    print()
    print("x 1k-page: p50 over the same page for a user with 1k things; x SELECT 1: over a bare round trip.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--things", type=int, default=100_000, help="things of the big user")
    parser.add_argument("--runs", type=int, default=60, help="timed requests per case")
    args = parser.parse_args(argv)
    _env()

    from chalicelib.container import reset
    from chalicelib.store.migrate import migrate
    from devstack.postgres import start_postgres

    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    url, server = start_postgres(tmp / "pg")
    try:
        os.environ["DATABASE_URL"] = url
        reset()
        migrate(url)
        world = load(url, args.things)
        results = measure(world, args.runs, args.things)
        report(results)
    finally:
        reset()
        if server is not None:
            server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
