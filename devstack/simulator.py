"""Device simulator on the AWS IoT Device SDK v2: one or many things publishing SenML.

    # a thing with its certificate (from POST /things/{id}/certificates), on the local stack
    python -m devstack.simulator --thing-id ID --cert thing.pem --key thing.key \\
        --channel CHANNEL_ID --rate 5 --count 100

    # a thing with its key (MQTT username/password, checked by the custom authorizer)
    python -m devstack.simulator --thing-id ID --thing-key KEY --channel CHANNEL_ID --subscribe

    # many things: a JSON file [{"thing_id": ..., "thing_key": ... | "cert": ..., "key": ...}, ...]
    python -m devstack.simulator --things things.json --channel CHANNEL_ID --rate 50 --duration 60

    # a real IoT Core endpoint (Amazon's CA from the system trust store; id/key on 443 + ALPN)
    python -m devstack.simulator --endpoint xxxx-ats.iot.eu-west-1.amazonaws.com --port 443 \\
        --ca AmazonRootCA1.pem --thing-id ID --thing-key KEY --authorizer choovio-things --channel C

Defaults aim at the local stack: 127.0.0.1:8883 and its CA in .local/iot/ca.pem.
It prints sent/acknowledged counts with a progress bar and exits non-zero if anything sent
was not acknowledged.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DEFAULT_CA = Path(os.environ.get("LOCAL_STATE_DIR", Path(__file__).resolve().parents[1] / ".local")) / "iot" / "ca.pem"
AUTHORIZER = os.environ.get("IOT_AUTHORIZER_NAME", "choovio-things")


def topic_matches(topic_filter: str, topic: str) -> bool:
    f, t = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or level not in ("+", t[i]):
            return False
    return len(f) == len(t)


def _read(value: str | bytes | Path) -> bytes:
    if isinstance(value, bytes):
        return value
    text = str(value)
    return text.encode() if text.lstrip().startswith("-----BEGIN") else Path(text).read_bytes()


@dataclass
class Device:
    """One simulated thing: credentials, and the awscrt connection once connected."""

    thing_id: str
    thing_key: str | None = None
    cert: str | bytes | None = None  # PEM text or a file path
    key: str | bytes | None = None
    client_id: str | None = None
    connection: Any = None
    interrupted: threading.Event = field(default_factory=threading.Event)
    handlers: list = field(default_factory=list)

    def connect(self, endpoint: str, port: int, ca: str | bytes | Path | None, *, authorizer: str = AUTHORIZER,
                clean_session: bool = True, timeout: float = 10.0, keep_alive_secs: int = 30) -> Device:
        self.connection = connection(endpoint, port, ca, thing_id=self.thing_id, thing_key=self.thing_key,
                                     cert=self.cert, key=self.key, client_id=self.client_id or self.thing_id,
                                     authorizer=authorizer, clean_session=clean_session,
                                     keep_alive_secs=keep_alive_secs,
                                     on_interrupted=lambda *_a, **_k: self.interrupted.set())
        self.connection.on_message(self._dispatch)  # only allowed before connecting
        self.connection.connect().result(timeout)
        return self

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> Future:
        from awscrt import mqtt

        future, _packet_id = self.connection.publish(topic, payload, mqtt.QoS(qos))
        return future

    def subscribe(self, topic_filter: str, on_message: Callable[[str, bytes], None], qos: int = 1,
                  timeout: float = 10.0) -> int | None:
        """Returns the granted QoS, or None when the broker refused the subscription.

        Messages are dispatched here with MQTT's matching rules ("a/#" also matches "a"); the
        SDK's own per-subscription dispatch skips that parent level.
        """
        from awscrt import mqtt

        future, _ = self.connection.subscribe(topic_filter, mqtt.QoS(qos))
        try:
            result = future.result(timeout)
        except mqtt.SubscribeError:  # SUBACK 0x80
            return None
        granted = result.get("qos")  # None when the SUBACK says 0x80 (refused)
        if granted is None or int(granted) >= 0x80:
            return None
        self.handlers.append((topic_filter, on_message))
        return int(granted)

    def _dispatch(self, topic: str, payload: bytes, **_kwargs: Any) -> None:
        for topic_filter, fn in list(self.handlers):
            if topic_matches(topic_filter, topic):
                fn(topic, payload)

    def disconnect(self, timeout: float = 10.0) -> None:
        if self.connection is not None:
            try:
                self.connection.disconnect().result(timeout)
            except Exception:  # already gone
                pass


def connection(endpoint: str, port: int, ca: str | bytes | Path | None, *, thing_id: str, thing_key: str | None = None,
               cert: str | bytes | None = None, key: str | bytes | None = None, client_id: str | None = None,
               authorizer: str = AUTHORIZER, clean_session: bool = True, keep_alive_secs: int = 30,
               on_interrupted: Callable | None = None) -> Any:
    """An awscrt MQTT 3.1.1 connection: mTLS when a certificate is given, else thing id/key."""
    from awscrt import io, mqtt
    from awsiot import mqtt_connection_builder

    ca_bytes = _read(ca) if ca else None
    common = dict(endpoint=endpoint, port=port, client_id=client_id or thing_id, clean_session=clean_session,
                  keep_alive_secs=keep_alive_secs, on_connection_interrupted=on_interrupted,
                  reconnect_min_timeout_secs=1, reconnect_max_timeout_secs=5)
    if cert is not None:
        if key is None:
            raise ValueError("a certificate needs its private key")
        return mqtt_connection_builder.mtls_from_bytes(cert_bytes=_read(cert), pri_key_bytes=_read(key),
                                                       ca_bytes=ca_bytes, **common)
    if thing_key is None:
        raise ValueError("give a certificate and key, or the thing key")
    if port == 443:  # IoT Core: custom authentication needs ALPN "mqtt" on 443; the SDK sets it up
        return mqtt_connection_builder.direct_with_custom_authorizer(
            auth_username=thing_id, auth_authorizer_name=authorizer, auth_password=thing_key,
            ca_bytes=ca_bytes, **common)
    # The same CONNECT on another port (the local broker listens on 8883 only).
    options = io.TlsContextOptions()
    if ca_bytes:
        options.override_default_trust_store(ca_bytes)
    client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), io.ClientTlsContext(options))
    return mqtt.Connection(client=client, host_name=endpoint, port=port, client_id=client_id or thing_id,
                           clean_session=clean_session, keep_alive_secs=keep_alive_secs,
                           username=f"{thing_id}?x-amz-customauthorizer-name={authorizer}", password=thing_key,
                           on_connection_interrupted=on_interrupted, reconnect_min_timeout_secs=1,
                           reconnect_max_timeout_secs=5)


def senml_pack(seq: int, name: str = "temperature", unit: str = "Cel") -> bytes:
    now = time.time()
    return json.dumps([{"bn": "sim:", "bt": now, "n": name, "u": unit, "v": round(20 + 5 * random.random(), 3)},
                       {"n": "seq", "v": seq}]).encode()


def topic_for(channel: str, subtopic: str = "") -> str:
    return f"channels/{channel}/messages" + (f"/{subtopic}" if subtopic else "")


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = self.acked = self.failed = self.received = 0

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


def _load_devices(args: argparse.Namespace) -> list[Device]:
    if args.things:
        specs = json.loads(Path(args.things).read_text())
        return [Device(s["thing_id"], s.get("thing_key"), s.get("cert"), s.get("key")) for s in specs]
    if not args.thing_id:
        raise SystemExit("give --thing-id with --thing-key or --cert/--key, or --things FILE")
    return [Device(args.thing_id, args.thing_key, args.cert, args.key)]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    devices = _load_devices(args)
    ca = args.ca if args.ca else (DEFAULT_CA if DEFAULT_CA.exists() and args.endpoint in ("127.0.0.1", "localhost")
                                  else None)
    counts = Counter()
    for d in devices:
        d.connect(args.endpoint, args.port, ca, authorizer=args.authorizer)
    print(f"connected {len(devices)} device(s) to {args.endpoint}:{args.port}", file=sys.stderr)
    if args.subscribe:
        def show(topic: str, payload: bytes) -> None:
            counts.add("received")
            text = payload.decode(errors="replace")
            tqdm.write(f"<- {topic} {text[:200]}")

        for d in devices[:1]:
            if d.subscribe(topic_for(args.channel) + "/#", show) is None:
                print("the broker refused the subscription (is the thing connected to the channel?)", file=sys.stderr)
                return 2
    total = args.count if args.count else (int(args.rate * args.duration) if args.duration else 0)
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    bar = tqdm(total=total or None, unit="msg", desc="acked", disable=args.quiet)
    topic = topic_for(args.channel, args.subtopic)

    def done(fut: Future) -> None:
        if fut.exception() is None:
            counts.add("acked")
            bar.update(1)
        else:
            counts.add("failed")

    start, seq = time.monotonic(), 0
    try:
        while not total or seq < total:
            device = devices[seq % len(devices)]
            device.publish(topic, senml_pack(seq), args.qos).add_done_callback(done)
            counts.add("sent")
            seq += 1
            bar.set_postfix(sent=counts.sent, failed=counts.failed, received=counts.received, refresh=False)
            if interval:
                delay = start + seq * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        deadline = time.monotonic() + args.wait
        while counts.acked + counts.failed < counts.sent and time.monotonic() < deadline:
            time.sleep(0.05)
        if args.subscribe and args.listen:
            time.sleep(args.listen)
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
        for d in devices:
            d.disconnect()
    elapsed = time.monotonic() - start
    print(f"sent {counts.sent}, acknowledged {counts.acked}, failed {counts.failed}, received {counts.received}"
          f" in {elapsed:.1f} s ({counts.acked / elapsed if elapsed else 0:.1f} msg/s acked)")
    return 0 if counts.acked == counts.sent else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devstack.simulator", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--endpoint", default=os.environ.get("IOT_ENDPOINT", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("MQTT_PORT", "8883")))
    p.add_argument("--ca", help="CA file the broker's certificate chains to (local default: .local/iot/ca.pem)")
    p.add_argument("--thing-id")
    p.add_argument("--thing-key", help="authenticate with the thing key (MQTT username/password)")
    p.add_argument("--cert", help="authenticate with this certificate (PEM file) ...")
    p.add_argument("--key", help="... and its private key (PEM file)")
    p.add_argument("--things", help="JSON file listing several devices")
    p.add_argument("--authorizer", default=AUTHORIZER, help="custom authorizer name (real IoT Core)")
    p.add_argument("--channel", required=True)
    p.add_argument("--subtopic", default="")
    p.add_argument("--rate", type=float, default=1.0, help="messages per second, all devices together")
    p.add_argument("--count", type=int, default=0, help="stop after this many messages")
    p.add_argument("--duration", type=float, default=0.0, help="or after this many seconds (0: until Ctrl-C)")
    p.add_argument("--qos", type=int, choices=(0, 1), default=1)
    p.add_argument("--subscribe", action="store_true", help="also subscribe to the channel and print what arrives")
    p.add_argument("--listen", type=float, default=0.0, help="with --subscribe: keep listening this long at the end")
    p.add_argument("--wait", type=float, default=10.0, help="seconds to wait for outstanding acknowledgements")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
