"""`python -m devstack <command>`: run the local stack or operate on a database."""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        from devstack.run import main as run

        return run()
    if command == "migrate":
        from chalicelib.store.migrate import migrate
        import os

        applied = migrate(os.environ["DATABASE_URL"])
        print("applied:", ", ".join(applied) if applied else "nothing (up to date)")
        return 0
    print(f"unknown command {command!r}; try: run, migrate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
