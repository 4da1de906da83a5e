"""How GET /channels/{id}/messages behaves over 1M stored SenML records.

    python -m benchmarks.readers [--rows 1000000] [--runs 200]

Starts its own PostgreSQL in a temporary directory (never the one in DATABASE_URL), applies the
migrations up to 029, loads the rows with COPY (4 channels, 30 days, 5 names, 10 publishers each,
interleaved in time as ingestion would write them), and times requests through the whole Chalice
app (JWT check, user and channel lookup, the read, JSON or CSV encoding) with chalice.test.Client.
Then it applies the remaining migrations (030: the reader indexes), runs VACUUM ANALYZE again and
times the same requests: before/after. Every case is also shown against baselines measured in the
same run: a bare `SELECT 1` round trip and the same page on a channel holding 1k rows.
Numbers are for reading, not asserting.
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


def _time(fn, runs: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


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


def measure(world: dict, runs: int) -> list[tuple[str, float, float, int | None]]:
    import json

    from chalice.test import Client

    from app import app
    from chalicelib.routes.readers import bp, reader_service

    if "GET" not in app.routes.get("/channels/{channel_id}/messages", {}):
        app.register_blueprint(bp)  # until app.py registers it
    db = reader_service().messages.db
    results: list[tuple[str, float, float, int | None]] = []

    def select_one():
        with db.transaction() as conn:
            conn.execute("SELECT 1").fetchone()

    samples = _time(select_one, runs * 3)
    results.append(("baseline: SELECT 1 round trip", _pct(samples, .5), _pct(samples, .99), None))
    headers = {"Authorization": f"Bearer {world['token']}"}
    with Client(app) as client:
        for label, channel, params in cases(world):
            url = f"/channels/{channel}/messages?{urlencode(params)}"

            def call(url=url):
                r = client.http.get(url, headers=headers)
                assert r.status_code == 200, r.body[:300]
                return r

            body = call().body
            total = body.count(b"\n") - 1 if params.get("format") == "csv" else json.loads(body)["total"]
            samples = _time(call, runs)
            results.append((label, _pct(samples, .5), _pct(samples, .99), total))
    return results


def report(before, after) -> None:
    base_rt = after[0][1]
    base_page = after[1][1]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="SenML rows in the big channels")
    parser.add_argument("--runs", type=int, default=200, help="timed requests per case")
    args = parser.parse_args(argv)
    _env()

    from chalicelib.container import reset
    from chalicelib.store.migrate import MIGRATIONS_DIR, migrate, pending
    from devstack.postgres import start_postgres

    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    early = tmp / "migrations-before-030"
    early.mkdir()
    for version, path in pending(MIGRATIONS_DIR):
        if version < READER_MIGRATIONS_FROM:
            shutil.copy(path, early / path.name)
    url, server = start_postgres(tmp / "pg")
    try:
        os.environ["DATABASE_URL"] = url
        reset()
        migrate(url, early)
        world = load(url, args.rows)
        index_report(url)
        copy_before = copy_cost(url, world)
        before = measure(world, args.runs)
        t = time.perf_counter()
        applied = migrate(url)
        built = time.perf_counter() - t
        vacuum(url)
        print(f"applied {', '.join(applied) or 'nothing'} in {built:.1f} s")
        index_report(url)
        copy_after = copy_cost(url, world)
        print(f"COPY of 100k more rows: {copy_before:.2f} s before 030, {copy_after:.2f} s after"
              f" (x{copy_after / copy_before:.2f}: the write cost of the extra indexes)")
        after = measure(world, args.runs)
        report(before, after)
    finally:
        reset()
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
