"""Ingestion throughput: the real pipeline against PostgreSQL's physical limits, same run, same table.

    python -m benchmarks.ingest [--packs 1000] [--records 100] [--batch 100] [--rounds 3]

Prints records/s for: the ingestion code path as the ingest Lambda runs it (ingest queue message
bodies in batches of --batch messages: decode, authorize, normalize, write; one transaction per
batch), the same path one message at a time (what an HTTP publish does), a raw COPY of the same
rows in one transaction (the physical limit here), and one INSERT per record in a transaction per
pack (how Magistrala's postgres writer stores SenML). Then the DynamoDB backup rate (moto
in-process: it bounds that number, real DynamoDB is another story) for a slice of the data.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
os.environ.setdefault("DATA_KEY", secrets.token_urlsafe(48))


def _events(channel: str, thing: str, packs: int, records: int) -> list[dict]:
    base = time.time() - packs * records
    events = []
    for p in range(packs):
        pack = [{"bn": f"dev-{p % 7}:", "bt": base + p * records, "bu": "Cel", "n": "temp", "t": 0, "v": 20.0}]
        pack += [{"n": "temp", "t": i, "v": 20.0 + i / 10} for i in range(1, records)]
        events.append({"payload": base64.b64encode(json.dumps(pack).encode()).decode(),
                       "topic": f"channels/{channel}/messages/bench", "client_id": thing, "principal": thing,
                       "received_at": int(time.time() * 1000)})
    return events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packs", type=int, default=1000)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100, help="messages per ingest Lambda invocation")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import psycopg

    from chalicelib.entities import Channel, Connection, Thing, User
    from chalicelib.messages.ingest import Directory, Ingestor
    from chalicelib.messages.records import build_rows, decode
    from chalicelib.store.db import Database
    from chalicelib.store.message_writer import PostgresMessageWriter
    from chalicelib.store.migrate import migrate
    from chalicelib.store.postgres import PostgresStore
    from devstack.postgres import start_postgres

    url, server = start_postgres(Path(tempfile.mkdtemp(prefix="bench-ingest-")) / "pg")
    try:
        migrate(url)
        db = Database(url, 2)
        store = PostgresStore(db, os.environ["DATA_KEY"])
        user = store.save_user(User(id=str(uuid.uuid4()), identity="bench@example.com", secret_hash="x"))
        thing = store.save_things([Thing(id=str(uuid.uuid4()), owner_id=user.id, key=secrets.token_hex(16))])[0]
        channel = store.save_channels([Channel(id=str(uuid.uuid4()), owner_id=user.id)])[0]
        store.connect([Connection(channel_id=channel.id, thing_id=thing.id)])
        events = _events(channel.id, thing.id, args.packs, args.records)
        total = args.packs * args.records
        all_rows = [row for e in events for row in build_rows(decode(e)).senml]
        columns = list(all_rows[0].keys())

        def truncate():
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE messages")

        def timed(fn) -> float:
            truncate()
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            with psycopg.connect(url) as conn:
                stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            assert stored == total, f"expected {total} rows, found {stored}"
            return total / elapsed

        def raw_copy():
            with psycopg.connect(url) as conn, conn.cursor() as cur:
                with cur.copy(f"COPY messages ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in all_rows:
                        copy.write_row([row[c] for c in columns])

        def insert_per_record():
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO messages ({', '.join(columns)}) VALUES ({placeholders})"
            with psycopg.connect(url) as conn:
                for start in range(0, total, args.records):
                    with conn.transaction():
                        for row in all_rows[start:start + args.records]:
                            conn.execute(sql, [row[c] for c in columns])

        ingestor = Ingestor(Directory(store, None), PostgresMessageWriter(db), None, None)

        bodies = [json.dumps(e) for e in events]

        def pipeline():
            for start in range(0, len(bodies), args.batch):
                counts = ingestor.ingest_bodies(bodies[start:start + args.batch])
                assert counts == {"stored": len(bodies[start:start + args.batch])}, counts

        def one_by_one():
            for event in events:
                outcome = ingestor.ingest(event)
                assert outcome.status == "stored", outcome

        paths = {"raw COPY (physical limit)": raw_copy,
                 f"pipeline, {args.batch} msgs/invocation": pipeline,
                 "pipeline, 1 msg/invocation (HTTP)": one_by_one,
                 "INSERT per record (Magistrala)": insert_per_record}
        # The machine is shared: paths take turns, round after round, and each keeps its best,
        # so a busy moment does not fall on one path only.
        results = dict.fromkeys(paths, 0.0)
        for _ in range(args.rounds):
            for name, fn in paths.items():
                results[name] = max(results[name], timed(fn))
        copy_rate = results["raw COPY (physical limit)"]
        print(f"\n{total:,} SenML records in {args.packs:,} packs of {args.records}\n")
        print(f"{'path':34} {'records/s':>12} {'vs COPY':>8}")
        for name, rate in results.items():
            print(f"{name:34} {rate:12,.0f} {rate / copy_rate:8.2f}")

        from moto import mock_aws

        with mock_aws():
            os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
            from chalicelib.backup.dynamo import DynamoBackup
            from devstack.aws import create_resources

            table = create_resources()["BACKUP_TABLE"]
            backup = DynamoBackup(table, os.environ["DATA_KEY"])
            sample = all_rows[: min(10_000, total)]
            start = time.perf_counter()
            for i in range(0, len(sample), args.records):
                backup.write_messages(sample[i:i + args.records], [])
            rate = len(sample) / (time.perf_counter() - start)
            print(f"{'DynamoDB backup (moto in-process)':34} {rate:12,.0f} {rate / copy_rate:8.2f}"
                  "   <- bounded by moto, not DynamoDB")
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
