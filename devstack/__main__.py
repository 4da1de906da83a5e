"""`python -m devstack <command>`.

    run                         the local stack (what `make run` does)
    migrate                     apply migrations/ to DATABASE_URL
    verify [--from S] [--to S] [--channel ID] [--repair]
                                compare PostgreSQL with the DynamoDB backup (and fix drift)
    dlq list | dlq redrive      inspect / redrive the retry queue's dead letters

The backup commands use the same environment as the Lambda functions (DATABASE_URL,
BACKUP_TABLE, RETRY_QUEUE_URL, DEAD_LETTER_QUEUE_URL, DATA_KEY, JWT_SECRET); while `make run`
is up they default to the local stack's settings.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def _stack_env() -> None:
    from devstack.state import state_dir

    path = state_dir() / "stack.env.json"
    if path.exists():
        for key, value in json.loads(path.read_text()).items():
            os.environ.setdefault(key, value)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run")
    sub.add_parser("migrate")
    verify = sub.add_parser("verify")
    verify.add_argument("--from", dest="since", type=float, default=0.0)
    verify.add_argument("--to", dest="until", type=float, default=1e13)
    verify.add_argument("--channel")
    verify.add_argument("--repair", action="store_true")
    dlq = sub.add_parser("dlq")
    dlq.add_argument("action", choices=["list", "redrive"])
    args = parser.parse_args(argv or ["run"])

    if args.command == "run":
        from devstack.run import main as run

        return run()
    _stack_env()
    if args.command == "migrate":
        from chalicelib.store.migrate import migrate

        applied = migrate(os.environ["DATABASE_URL"])
        print("applied:", ", ".join(applied) if applied else "nothing (up to date)")
        return 0
    from chalicelib.container import services

    s = services()
    if args.command == "verify":
        verifier = s.backup_admin.verifier
        if verifier is None:
            print("the backup is not configured (BACKUP_TABLE)", file=sys.stderr)
            return 2
        report = verifier.verify(args.since, args.until, args.channel)
        print(json.dumps(report.summary(), indent=2))
        if args.repair and report.total:
            print(json.dumps({"repaired": verifier.repair(report)}))
        return 1 if report.total and not args.repair else 0
    dead = s.backup_admin.dead_letters
    if dead is None:
        print("no dead-letter queue configured (DEAD_LETTER_QUEUE_URL)", file=sys.stderr)
        return 2
    if args.action == "list":
        print(json.dumps({"depth": dead.depth(), "messages": dead.peek(10)}, indent=2, default=str))
    else:
        print(json.dumps({"redriven": dead.redrive()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
