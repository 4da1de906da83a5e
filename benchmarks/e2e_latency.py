"""End-to-end latency and throughput of device messages on the local stack.

    python -m benchmarks.e2e_latency [--rate 20] [--seconds 10] [--steps 10,20,40,80,120,160]

Starts its own stack (embedded PostgreSQL unless DATABASE_URL is set, moto, the API, the broker,
the ingest queue's poller) and measures, with the AWS IoT Device SDK over TLS:
  1. latency publish -> visible through GET /channels/{id}/messages at a fixed rate (p50/p99),
     and publish -> PUBACK (the broker acknowledges once the message is on the ingest queue; the
     poller then stores it, a batch at a time);
  2. the highest sustained rate with nothing lost: rate steps, each kept only if every message
     was acknowledged, all were stored within MAX_LAG of the last PUBACK (storage kept up) and
     the achieved rate kept up with the offered one;
  3. the same two numbers for the broker alone (publish -> a plain subscriber, rules that do
     nothing), measured in the same run, and the ratios between the two.
Everything runs in one Python process on this machine (moto too), so absolute numbers are
about the local stack, not about AWS; the ratios say what ingestion costs next to the broker.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from benchmarks.timing import percentile


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_stack():
    """PostgreSQL + moto + API + ingest poller + two brokers: the real one, and one whose rules do nothing."""
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
    os.environ.setdefault("DATA_KEY", secrets.token_urlsafe(48))
    logging_quiet()
    from chalicelib.store.migrate import migrate
    from devstack.api_server import serve
    from devstack.aws import create_resources, start_moto, use_endpoint
    from devstack.broker import start_broker
    from devstack.postgres import start_postgres
    from devstack.sqs_poller import ingest_poller

    tmp = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    url, pg = start_postgres(tmp / "pg")
    os.environ["DATABASE_URL"] = url
    migrate(url)
    moto_port = _free_port()
    moto = start_moto("127.0.0.1", moto_port)
    use_endpoint(f"http://127.0.0.1:{moto_port}")
    os.environ.update(create_resources(prefix=f"bench-{uuid.uuid4().hex[:6]}-"))
    real = start_broker(tmp / "state", "127.0.0.1", _free_port(), refresh_seconds=30)
    plain = start_broker(tmp / "state", "127.0.0.1", _free_port(), send=lambda url, body: None, apply_env=False,
                         register_forwarder=False, refresh_seconds=30)
    import app as app_module
    from chalicelib.routes import devices, readers

    app = app_module.app
    if "/things/{thing_id}/certificates" not in app.routes:
        app.register_blueprint(devices.bp)
    if "GET" not in app.routes.get("/channels/{channel_id}/messages", {}):
        app.register_blueprint(readers.bp)
    api_port = _free_port()
    server = serve(app, "127.0.0.1", api_port)
    poller = ingest_poller(os.environ["INGEST_QUEUE_URL"], app_module).start()
    try:
        yield f"http://127.0.0.1:{api_port}", real, plain
    finally:
        server.shutdown()
        plain.stop()
        real.stop()
        poller.stop()
        moto.stop()
        if pg is not None:
            pg.cleanup()


def logging_quiet() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    for name in ("werkzeug", "amqtt", "transitions", "devstack.broker", "devstack.sqs", "platform.ingest"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def call(self, method: str, path: str, body=None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = self.http.request(method, self.base + path, data=json.dumps(body) if body is not None else None,
                              headers=headers, timeout=30)
        r.raise_for_status()
        return r.json() if r.content else {}

    def setup(self) -> tuple[str, dict, dict]:
        email = f"bench{uuid.uuid4().hex[:8]}@example.com"
        self.call("POST", "/users", {"name": "bench", "credentials": {"identity": email, "secret": "bench-password"}})
        token = self.call("POST", "/users/tokens/issue", {"identity": email, "secret": "bench-password"})["access_token"]
        channel = self.call("POST", "/channels", {"name": "bench"}, token)
        thing = self.call("POST", "/things", {"name": "bench-device"}, token)
        self.call("POST", f"/channels/{channel['id']}/things/{thing['id']}/connect", None, token)
        return token, channel, thing


def _pct(values: list[float], p: float) -> float:
    return percentile(values, p / 100) if values else float("nan")


def _payload(run: str, seq: int) -> bytes:
    return json.dumps([{"bn": f"{run}:", "n": "seq", "v": seq, "t": time.time()}]).encode()


def publish_at(device, topic: str, run: str, rate: float, count: int, sent_at: dict, acked_at: dict) -> float:
    """Publish `count` messages at `rate`; returns the seconds it took until the last PUBACK."""
    lock = threading.Lock()
    start = time.monotonic()
    futures = []
    for seq in range(count):
        due = start + seq / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent_at[seq] = time.monotonic()

        def acked(fut, seq=seq):
            if fut.exception() is None:
                with lock:
                    acked_at[seq] = time.monotonic()

        fut = device.publish(topic, _payload(run, seq))
        fut.add_done_callback(acked)
        futures.append(fut)
    for fut in futures:
        with contextlib.suppress(Exception):
            fut.result(120)
    return time.monotonic() - start


class ReaderPoller(threading.Thread):
    """Polls the readers API and notes when each sequence number first becomes visible."""

    def __init__(self, api: Api, token: str, channel_id: str, run: str, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.api, self.token, self.channel_id, self.run_name = api, token, channel_id, run
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        path = f"/channels/{self.channel_id}/messages?limit=200&name={self.run_name}:seq"
        while not self.halt.is_set():
            try:
                page = self.api.call("GET", path, None, self.token)
            except requests.RequestException:
                page = {"messages": []}
            now = time.monotonic()
            for m in page.get("messages", []):
                self.seen.setdefault(int(m["value"]), now)
            time.sleep(self.interval)


def end_to_end_latency(api: Api, broker, token: str, channel: dict, device, rate: float, seconds: float) -> dict:
    run = f"lat{uuid.uuid4().hex[:6]}"
    count = int(rate * seconds)
    poller = ReaderPoller(api, token, channel["id"], run)
    poller.start()
    sent, acked = {}, {}
    publish_at(device, f"channels/{channel['id']}/messages", run, rate, count, sent, acked)
    deadline = time.monotonic() + 30
    while len(poller.seen) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    poller.halt.set()
    poller.join()
    visible = [poller.seen[s] - sent[s] for s in sent if s in poller.seen]
    puback = [acked[s] - sent[s] for s in sent if s in acked]
    return {"count": count, "visible": len(visible), "acked": len(puback),
            "visible_p50": _pct(visible, 50), "visible_p99": _pct(visible, 99),
            "puback_p50": _pct(puback, 50), "puback_p99": _pct(puback, 99)}


def broker_only_latency(plain, device, listener, channel: dict, rate: float, seconds: float) -> dict:
    run = f"bro{uuid.uuid4().hex[:6]}"
    count = int(rate * seconds)
    received: dict[int, float] = {}

    def on_message(_topic: str, payload: bytes) -> None:
        record = json.loads(payload)[0]
        if record.get("bn") == f"{run}:":
            received.setdefault(int(record["v"]), time.monotonic())

    listener.handlers[:] = [(f"channels/{channel['id']}/messages/#", on_message)]
    sent, acked = {}, {}
    publish_at(device, f"channels/{channel['id']}/messages", run, rate, count, sent, acked)
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    delivered = [received[s] - sent[s] for s in sent if s in received]
    return {"count": count, "received": len(delivered), "p50": _pct(delivered, 50), "p99": _pct(delivered, 99)}


def stored_count(run: str, channel_id: str) -> int:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM messages WHERE channel = %s AND name = %s",
                            (channel_id, f"{run}:seq")).fetchone()[0]


# Storage must keep up, not catch up later: a step counts only if its last message is stored (or
# received) within this long after its last PUBACK. PUBACK no longer waits for storage.
MAX_LAG = 1.0


def sustained(device, topic: str, steps: list[float], seconds: float, check_stored, received=None) -> tuple[float, list]:
    """Highest step where everything was acked and soon stored/received, and the achieved rate kept up."""
    best, rows = 0.0, []
    for rate in steps:
        run = f"s{uuid.uuid4().hex[:6]}"
        count = max(1, int(rate * seconds))
        sent, acked = {}, {}
        if received is not None:
            received.clear()
            received["run"] = run
        elapsed = publish_at(device, topic, run, rate, count, sent, acked)
        last_ack = time.monotonic()
        kept = check_stored(run, count)
        lag = time.monotonic() - last_ack
        achieved = count / elapsed
        ok = len(acked) == count and kept == count and lag <= MAX_LAG and achieved >= 0.9 * rate
        rows.append((rate, achieved, len(acked), kept, count, lag, ok))
        if not ok:
            break
        best = rate
    return best, rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=20.0, help="fixed rate for the latency runs (msg/s)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each latency run")
    p.add_argument("--steps", default="10,20,40,80,120,160,240,320,640,1280", help="rates tried for the sustained runs")
    p.add_argument("--step-seconds", type=float, default=4.0)
    args = p.parse_args(argv)
    steps = [float(s) for s in args.steps.split(",")]

    from devstack.simulator import Device

    with local_stack() as (base, real, plain):
        api = Api(base)
        token, channel, thing = api.setup()
        cert = api.call("POST", f"/things/{thing['id']}/certificates", None, token)
        watcher = api.call("POST", "/things", {"name": "bench-watcher"}, token)
        api.call("POST", f"/channels/{channel['id']}/things/{watcher['id']}/connect", None, token)

        def device_on(broker, who, with_cert):
            d = Device(who["id"], None if with_cert else who["credentials"]["secret"],
                       cert["certificate_pem"] if with_cert else None, cert["private_key_pem"] if with_cert else None)
            return d.connect(broker.host, broker.port, broker.ca_file)

        topic = f"channels/{channel['id']}/messages"
        pub_real, pub_plain = device_on(real, thing, True), device_on(plain, thing, True)
        listener = device_on(plain, watcher, False)
        listener.subscribe(topic + "/#", lambda *_: None)

        print("warming up ...", file=sys.stderr)
        end_to_end_latency(api, real, token, channel, pub_real, args.rate, 1.0)

        print(f"latency at {args.rate:g} msg/s for {args.seconds:g} s ...", file=sys.stderr)
        e2e = end_to_end_latency(api, real, token, channel, pub_real, args.rate, args.seconds)
        bro = broker_only_latency(plain, pub_plain, listener, channel, args.rate, args.seconds)

        print("sustained rate steps ...", file=sys.stderr)
        got: dict = {}

        def on_plain(_topic: str, payload: bytes) -> None:
            rec = json.loads(payload)[0]
            if rec.get("bn") == f"{got.get('run')}:":
                got[int(rec["v"])] = True

        listener.handlers[:] = [(topic + "/#", on_plain)]

        def plain_received(run: str, count: int) -> int:
            deadline = time.monotonic() + 5
            while len(got) - 1 < count and time.monotonic() < deadline:
                time.sleep(0.02)
            return len(got) - 1

        def e2e_stored(run: str, count: int) -> int:
            deadline = time.monotonic() + 10
            n = stored_count(run, channel["id"])
            while n < count and time.monotonic() < deadline:
                time.sleep(0.02)
                n = stored_count(run, channel["id"])
            return n

        e2e_best, e2e_rows = sustained(pub_real, topic, steps, args.step_seconds, e2e_stored)
        bro_best, bro_rows = sustained(pub_plain, topic, steps, args.step_seconds, plain_received, got)
        for d in (pub_real, pub_plain, listener):
            d.disconnect()

    ms = 1000.0
    print()
    print("End-to-end on the local stack (one process, 2 cores, moto included)")
    print(f"  latency at {args.rate:g} msg/s, {e2e['count']} messages (readers API polled every 10 ms):")
    print(f"    publish -> visible in GET /channels/{{id}}/messages  p50 {e2e['visible_p50'] * ms:7.1f} ms"
          f"   p99 {e2e['visible_p99'] * ms:7.1f} ms   ({e2e['visible']}/{e2e['count']} seen)")
    print(f"    publish -> PUBACK (once on the ingest queue)     p50 {e2e['puback_p50'] * ms:7.1f} ms"
          f"   p99 {e2e['puback_p99'] * ms:7.1f} ms   ({e2e['acked']}/{e2e['count']} acked)")
    print(f"    broker only: publish -> plain subscriber         p50 {bro['p50'] * ms:7.1f} ms"
          f"   p99 {bro['p99'] * ms:7.1f} ms   ({bro['received']}/{bro['count']} received)")
    print(f"    ratio end-to-end / broker-only (p50)   {e2e['visible_p50'] / bro['p50']:6.1f}x")
    print(f"  sustained rate, nothing lost (each step {args.step_seconds:g} s; kept while all acked, all stored"
          f" within {MAX_LAG:g} s of the last PUBACK, and achieved >= 90% of offered):")
    for name, rows in (("end-to-end", e2e_rows), ("broker only", bro_rows)):
        for rate, achieved, acked, kept, count, lag, ok in rows:
            print(f"    {name:11s} offered {rate:7.0f}/s achieved {achieved:7.1f}/s acked {acked}/{count}"
                  f" {'stored' if name == 'end-to-end' else 'received'} {kept}/{count} after {lag * ms:5.0f} ms"
                  f" {'ok' if ok else 'STOP'}")
    print(f"    highest sustained: end-to-end {e2e_best:g} msg/s, broker only {bro_best:g} msg/s"
          f"  -> ratio {e2e_best / bro_best if bro_best else float('nan'):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
