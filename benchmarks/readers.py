"""How GET /channels/{id}/messages behaves over 1M stored SenML records, before and after migration 030.

    python -m benchmarks.readers [--rows 1000000] [--runs 200]

Starts its own PostgreSQL in a temporary directory (never the one in DATABASE_URL) and builds two
databases on it with the same rows: `before` (migrations up to 029) and `after` (all migrations,
030 = the reader indexes). Rows are loaded with COPY: 4 channels x 250k, 30 days, 5 names (one of
them strings), 10 publishers, interleaved in time as ingestion writes them, plus a 1k-row channel.
Requests go through the whole Chalice app (JWT check, user and channel lookup, the read, JSON or
CSV encoding) with chalice.test.Client. Before and after are measured interleaved, in rounds, so
that load from elsewhere on the machine hits both alike. Every case is also shown against
baselines measured in the same run: a bare `SELECT 1` round trip and the same page on the 1k-row
channel. Numbers are for reading, not asserting.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.timing import percentile, sample

CHANNELS = 4
NAMES = ("temp", "hum", "pressure", "co2", "status")  # status carries strings, the others numbers
UNITS = {"temp": "Cel", "hum": "%RH", "pressure": "Pa", "co2": "ppm"}
PUBLISHERS = 10
DAYS = 30
SMALL_ROWS = 1_000
READER_MIGRATIONS_FROM = 30


def _env() -> None:
    os.environ.pop("DATABASE_URL", None)  # always our own throwaway server
    os.environ.pop("BACKUP_TABLE", None)
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
    os.environ.setdefault("DATA_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def _copy_text(channels: list[str], publishers: dict[str, list[str]], per_channel: int, start: float,
               rnd: random.Random) -> Iterator[str]:
    """COPY text lines, in time order across channels; blocks of about 1 MB."""
    step = DAYS * 86400 / per_channel
    buf = io.StringIO()
    for i in range(per_channel):
        name = NAMES[i % len(NAMES)]
        subtopic = ("", "floor.1", "floor.2")[i % 3]
        for c in channels:
            t = start + i * step + rnd.random() * step
            pub = publishers[c][i % PUBLISHERS]
            if name == "status":
                value, string = "\\N", rnd.choice(("ok", "warn", "alarm: door open"))
            else:
                value, string = f"{rnd.uniform(-10, 40):.3f}", "\\N"
            unit = UNITS.get(name, "\\N")
            buf.write(f"{uuid.uuid4()}\t{c}\t{subtopic}\t{pub}\tmqtt\t{name}\t{unit}\t{t!r}\t\\N\t{value}\t{string}"
                      "\t\\N\t\\N\t\\N\n")
        if i % 2000 == 1999:
            yield buf.getvalue()
            buf = io.StringIO()
    yield buf.getvalue()


def load(url: str, rows: int) -> dict:
    """Owner, channels and messages; returns what the measurement needs."""
    import psycopg

    from chalicelib.config import settings
    from chalicelib.security import tokens

    s = settings()
    rnd = random.Random(42)
    owner = str(uuid.uuid4())
    channels = [str(uuid.uuid4()) for _ in range(CHANNELS)]
    small = str(uuid.uuid4())
    publishers = {c: [str(uuid.uuid4()) for _ in range(PUBLISHERS)] for c in [*channels, small]}
    start = float(int(time.time()) // 86400 * 86400 - DAYS * 86400)
    per_channel = rows // CHANNELS
    columns = ("id, channel, subtopic, publisher, protocol, name, unit, time, update_time, value, string_value,"
               " bool_value, data_value, sum")
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO users (id, name, identity, secret_hash, role, created_at, updated_at)"
                    " VALUES (%s, 'owner', 'owner@bench.example', '-', 'user', now(), now())", (owner,))
        for c in [*channels, small]:
            cur.execute("INSERT INTO channels (id, owner_id, name, created_at, updated_at)"
                        " VALUES (%s, %s, 'bench', now(), now())", (c, owner))
        with cur.copy(f"COPY messages ({columns}) FROM STDIN") as copy:
            for block in _copy_text(channels, publishers, per_channel, start, rnd):
                copy.write(block)
            for block in _copy_text([small], publishers, SMALL_ROWS, start, rnd):
                copy.write(block)
        conn.commit()
    loaded = time.perf_counter() - t0
    vacuum(url)
    total = per_channel * CHANNELS + SMALL_ROWS
    print(f"loaded {total:,} rows ({CHANNELS} channels x {per_channel:,}, + {SMALL_ROWS:,} in a small one)"
          f" in {loaded:.1f} s with COPY ({total / loaded:,.0f} rows/s)", flush=True)
    return {"token": tokens.issue(s.jwt_secret, owner, tokens.ACCESS, 3600), "channels": channels, "small": small,
            "publisher": publishers[channels[0]][3], "start": start}


def vacuum(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE messages")


def cases(world: dict) -> list[tuple[str, str, dict]]:
    """(label, channel, query parameters)."""
    big, small = world["channels"][0], world["small"]
    day = {"from": world["start"] + 28 * 86400, "to": world["start"] + 29 * 86400}
    week = {"from": world["start"] + 22 * 86400, "to": world["start"] + 29 * 86400}
    return [
        ("baseline: page of a 1k-row channel", small, {}),
        ("page, no filter (limit 10)", big, {}),
        ("filtered page: name=temp, v>20, one day, limit 100", big,
         {"name": "temp", "v": 20, "comparator": "gt", "limit": 100, **day}),
        ("filtered page: publisher + subtopic", big, {"publisher": world["publisher"], "subtopic": "floor.1"}),
        ("filtered page: name=co2 (20%), limit 100", big, {"name": "co2", "limit": 100}),
        ("filtered page: vs=ok (string)", big, {"vs": "ok"}),
        ("filtered page: v=0 (no match)", big, {"v": 0}),
        ("page at offset 10000", big, {"offset": 10_000}),
        ("one-day AVG by hour, name=temp", big, {"aggregation": "AVG", "interval": "1h", "name": "temp", **day}),
        ("one-day AVG by hour, all names", big, {"aggregation": "AVG", "interval": "1h", **day}),
        ("7-day MAX by day, name=temp", big, {"aggregation": "MAX", "interval": "1d", "name": "temp", **week}),
        ("CSV: one day of name=temp (~1.7k rows)", big, {"format": "csv", "name": "temp", **day}),
    ]


def _use(url: str) -> None:
    from chalicelib.container import reset

    os.environ["DATABASE_URL"] = url
    reset()


def measure(world: dict, urls: dict[str, str], runs: int, rounds: int = 10) -> dict[str, list]:
    """phase -> [(label, p50, p99, total)], the phases alternating round by round."""
    import json

    from chalice.test import Client

    from app import app
    from chalicelib.routes.readers import bp, reader_service

    if "GET" not in app.routes.get("/channels/{channel_id}/messages", {}):
        app.register_blueprint(bp)  # until app.py registers it
    per_round = max(1, runs // rounds)
    headers = {"Authorization": f"Bearer {world['token']}"}
    results: dict[str, list] = {phase: [] for phase in urls}

    def run(label: str, make_call, total_of) -> None:
        samples: dict[str, list[float]] = {phase: [] for phase in urls}
        totals: dict[str, int | None] = {}
        for _ in range(rounds):
            for phase, url in urls.items():
                _use(url)
                call = make_call()
                totals[phase] = total_of(call())
                samples[phase] += sample(call, per_round, warmup=2)
        for phase in urls:
            results[phase].append((label, percentile(samples[phase], .5), percentile(samples[phase], .99), totals[phase]))
        print(f"  measured: {label}", flush=True)

    def select_one():
        db = reader_service().messages.db

        def call():
            with db.transaction() as conn:
                conn.execute("SELECT 1").fetchone()
        return call

    run("baseline: SELECT 1 round trip", select_one, lambda _: None)
    with Client(app) as client:
        for label, channel, params in cases(world):
            path = f"/channels/{channel}/messages?{urlencode(params)}"

            def make_call(path=path):
                def call():
                    r = client.http.get(path, headers=headers)
                    assert r.status_code == 200, r.body[:300]
                    return r
                return call

            def total_of(r, csv=params.get("format") == "csv"):
                return r.body.count(b"\n") - 1 if csv else json.loads(r.body)["total"]

            run(label, make_call, total_of)
    return results


def report(results: dict[str, list]) -> None:
    before, after = results["before"], results["after"]
    base_rt, base_page = after[0][1], after[1][1]
    print()
    print(f"{'case':52} {'total':>9} {'p50 ms':>8} {'p99 ms':>8} {'p50 ms':>8} {'p99 ms':>8} {'speedup':>8}"
          f" {'x 1k-page':>10} {'x SELECT 1':>11}")
    print(f"{'':52} {'':>9} {'-- before 030 --':>17} {'-- after 030 ---':>17}")
    print("-" * 134)
    for (label, b50, b99, total), (_, a50, a99, _) in zip(before, after):
        shown = "" if total is None else f"{total:,}"
        print(f"{label:52} {shown:>9} {b50:8.2f} {b99:8.2f} {a50:8.2f} {a99:8.2f} {b50 / a50:8.2f}"
              f" {a50 / base_page:10.2f} {a50 / base_rt:11.1f}")
    print()
    print("total: matching rows (aggregations: buckets; CSV: rows exported). speedup: p50 before / after 030.")
    print("x 1k-page / x SELECT 1: p50 after 030 over the 1k-row channel's page and over a bare round trip.")


def index_report(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) AS size FROM pg_stat_user_indexes"
            " WHERE relname = 'messages' ORDER BY indexrelname").fetchall()
        table = conn.execute("SELECT pg_size_pretty(pg_relation_size('messages'))").fetchone()[0]
    print(f"messages heap: {table}; indexes: " + ", ".join(f"{n} {s}" for n, s in rows))


def copy_cost(url: str, world: dict, rows: int = 100_000) -> float:
    """Seconds to COPY `rows` more rows (into a throwaway channel, rolled back): the write cost of the indexes."""
    import psycopg

    channel = str(uuid.uuid4())
    blocks = list(_copy_text([channel], {channel: [str(uuid.uuid4()) for _ in range(PUBLISHERS)]}, rows,
                             world["start"], random.Random(1)))
    columns = ("id, channel, subtopic, publisher, protocol, name, unit, time, update_time, value, string_value,"
               " bool_value, data_value, sum")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        t = time.perf_counter()
        with cur.copy(f"COPY messages ({columns}) FROM STDIN") as copy:
            for block in blocks:
                copy.write(block)
        elapsed = time.perf_counter() - t
        conn.rollback()
    return elapsed


def _database(url: str, name: str, template: str | None = None) -> str:
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return make_conninfo(url, dbname=name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="SenML rows in the big channels")
    parser.add_argument("--runs", type=int, default=200, help="timed requests per case and phase")
    args = parser.parse_args(argv)
    _env()

    from chalicelib.container import reset
    from chalicelib.store.db import Database
    from chalicelib.store.migrate import MIGRATIONS_DIR, migrate, pending
    from devstack.postgres import start_postgres

    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    early = tmp / "migrations-before-030"
    early.mkdir()
    for version, path in pending(MIGRATIONS_DIR):
        if version < READER_MIGRATIONS_FROM:
            shutil.copy(path, early / path.name)
    url, server = start_postgres(tmp / "pg")
    urls: dict[str, str] = {}
    try:
        urls["before"] = _database(url, "bench_before")
        _use(urls["before"])
        migrate(urls["before"], early)
        world = load(urls["before"], args.rows)
        urls["after"] = _database(url, "bench_after", template="bench_before")
        t = time.perf_counter()
        applied = migrate(urls["after"])
        built = time.perf_counter() - t
        vacuum(urls["after"])
        print(f"after: applied {', '.join(applied) or 'nothing'} in {built:.1f} s")
        for phase in urls:
            print(f"{phase}: ", end="")
            index_report(urls[phase])
        costs: dict[str, list[float]] = {phase: [] for phase in urls}
        for _ in range(3):
            for phase in urls:
                costs[phase].append(copy_cost(urls[phase], world))
        for phase in urls:
            vacuum(urls[phase])  # the rolled-back rows are dead tuples: leave both tables clean
        b, a = sorted(costs["before"])[1], sorted(costs["after"])[1]
        print(f"COPY of 100k more rows (median of 3): {b:.2f} s before 030, {a:.2f} s after"
              f" (x{a / b:.2f}: the write cost of the extra indexes)", flush=True)
        report(measure(world, urls, args.runs))
    finally:
        for phase_url in urls.values():
            Database(phase_url).close()
        reset()
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
