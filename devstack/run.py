"""`make run`: the whole platform on one machine, in the foreground, until Ctrl-C."""
from __future__ import annotations

import logging
import signal
import sys
import threading

from devstack.stack import LocalStack, PortInUse


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("botocore", "pgserver", "werkzeug", "psycopg.pool", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stack = LocalStack()
    print("starting the local stack ...", flush=True)
    try:
        stack.start()
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    base = stack.api_url
    print(f"""
The platform is running.
  Dashboard:  {stack.dashboard_url}   (log in as below, or sign up)
  API:        {base}   (OpenAPI: {base}/openapi.json)
  MQTT:       {stack.ports.host}:{stack.ports.mqtt} over TLS (IoT Core stand-in; CA {stack.state / 'iot' / 'ca.pem'})
  AWS (moto): {stack.env['AWS_ENDPOINT_URL']}   backup table {stack.env['BACKUP_TABLE']}, ingest + retry queues, DLQ
  Admin:      {stack.admin_identity} (password: ADMIN_SECRET in {stack.state / 'secrets.json'})
  State:      {stack.state}  (PostgreSQL data, local CA and secrets survive restarts)

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
    stack.stop()
    return 0
