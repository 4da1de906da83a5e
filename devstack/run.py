"""`make run`: the whole platform on one machine, in the foreground, until Ctrl-C."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from devstack.api_server import PortInUse, serve
from devstack.postgres import start_postgres
from devstack.state import local_secrets, state_dir

ADMIN_IDENTITY = "admin@example.com"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    host = os.environ.get("API_HOST", "127.0.0.1")
    api_port = int(os.environ.get("API_PORT", "8000"))
    state = state_dir()
    secrets = local_secrets(state)
    for key in ("JWT_SECRET", "DATA_KEY"):
        os.environ.setdefault(key, secrets[key])

    print("starting PostgreSQL ...", flush=True)
    url, pg = start_postgres(state / "postgres")
    os.environ["DATABASE_URL"] = url

    from chalicelib.store.migrate import migrate

    applied = migrate(url)
    print(f"migrations applied: {', '.join(applied) or 'none pending'}")

    from app import app
    from chalicelib.container import services

    admin_secret = os.environ.get("ADMIN_SECRET", secrets["ADMIN_SECRET"])
    services().users.ensure_admin(os.environ.get("ADMIN_IDENTITY", ADMIN_IDENTITY), admin_secret)

    try:
        api = serve(app, host, api_port)
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    base = f"http://{host}:{api_port}"
    print(f"""
The platform is running.
  API:        {base}   (OpenAPI: {base}/openapi.json)
  Admin:      {os.environ.get('ADMIN_IDENTITY', ADMIN_IDENTITY)} (password: ADMIN_SECRET in {state / 'secrets.json'})
  State:      {state}  (PostgreSQL data and generated secrets survive restarts)

Next: sign up and log in
  curl -s -XPOST {base}/users -H 'Content-Type: application/json' \\
       -d '{{"name":"me","credentials":{{"identity":"me@example.com","secret":"a-long-password"}}}}'
  curl -s -XPOST {base}/users/tokens/issue -H 'Content-Type: application/json' \\
       -d '{{"identity":"me@example.com","secret":"a-long-password"}}'
Press Ctrl-C to stop.
""", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    print("\nstopping ...", flush=True)
    api.shutdown()
    if pg is not None:
        pg.cleanup()
    return 0
