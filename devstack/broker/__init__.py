"""The IoT Core stand-in of the local stack: an MQTT broker over TLS on 127.0.0.1:8883.

    handle = start_broker(state_dir, "127.0.0.1", 8883)   # after moto, PostgreSQL and migrations
    ...
    handle.stop()

It needs, in this process: AWS_ENDPOINT_URL pointing at moto (devstack.aws.use_endpoint), the
DATABASE_URL/JWT_SECRET/DATA_KEY of the platform (for authentication), INGEST_QUEUE_URL where the
topic rule puts device messages and RETRY_QUEUE_URL for its error action (or start_broker
arguments). It stores nothing itself: an SqsPoller feeds the ingest queue to the `ingest`
handler (devstack/stack.py). It keeps a local CA under <state_dir>/iot (created once, registered
in moto's IoT registry on every start) and sets, for the API in the same process, the variables the
device routes read (see `BrokerHandle.env`). It registers itself as the forwarder of
HTTP-published messages (chalicelib.messages.forward).
"""
from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from devstack.api_server import PortInUse

log = logging.getLogger("devstack.broker")

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT = 8883


class BrokerPortInUse(PortInUse):
    pass


@dataclass
class LocalCA:
    """The CA devices' certificates are signed with, and the broker's server certificate."""

    directory: Path
    ca_cert: Path = field(init=False)
    ca_key: Path = field(init=False)
    server_cert: Path = field(init=False)
    server_key: Path = field(init=False)

    def __post_init__(self) -> None:
        d = self.directory
        self.ca_cert, self.ca_key = d / "ca.pem", d / "ca.key"
        self.server_cert, self.server_key = d / "server.pem", d / "server.key"

    def ensure(self, hostnames: list[str]) -> LocalCA:
        from chalicelib.iot.ca import CertificateAuthority, make_ca

        self.directory.mkdir(parents=True, exist_ok=True)
        if not (self.ca_cert.exists() and self.ca_key.exists()):
            cert, key = make_ca("choovio local IoT CA")
            _write_private(self.ca_key, key)
            self.ca_cert.write_text(cert)
        names_file = self.directory / "server.names"
        current = names_file.read_text().split() if names_file.exists() else []
        if not self.server_cert.exists() or current != hostnames:
            ca = CertificateAuthority(self.ca_cert.read_text(), self.ca_key.read_text())
            cert, key = ca.issue_server(hostnames)
            _write_private(self.server_key, key)
            self.server_cert.write_text(cert)
            names_file.write_text(" ".join(hostnames))
        return self


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text)


@dataclass
class BrokerHandle:
    host: str
    port: int
    ca_file: Path
    env: dict[str, str]
    broker: Any
    loop: asyncio.AbstractEventLoop
    _stop: Callable[[], None]

    @property
    def stats(self) -> dict:
        return dict(self.broker.stats)

    def forward(self, topic: str, payload: bytes) -> None:
        """Deliver an API-published message to MQTT subscribers (what iot-data Publish does on AWS)."""
        asyncio.run_coroutine_threadsafe(self.broker.forward(topic, bytes(payload)), self.loop).result(timeout=30)

    def stop(self) -> None:
        self._stop()


class SqsSender:
    """The rule's Sqs actions: send(url, body) returns once the message is on the queue.

    One thread sends for all rule workers and puts what they handed it meanwhile into one
    SendMessageBatch (10 at most): with moto in this process a single SendMessage costs ~12 ms
    of CPU, a message in a batch of 10 ~1.5 ms. Alone, a message is sent at once.
    """

    def __init__(self) -> None:
        import boto3

        self.sqs = boto3.client("sqs")
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="broker-sqs-sender", daemon=True).start()

    def __call__(self, url: str, body: str) -> None:
        done: Future = Future()
        self.waiting.put((url, body, done))
        done.result()

    def close(self) -> None:
        self.waiting.put(None)

    def _run(self) -> None:
        while (first := self.waiting.get()) is not None:
            batch = [first]
            while len(batch) < 10 and not self.waiting.empty():
                batch.append(self.waiting.get())
            by_queue: dict[str, list] = {}
            for url, body, done in batch:
                by_queue.setdefault(url, []).append((body, done))
            for url, items in by_queue.items():
                self._send(url, items)

    def _send(self, url: str, items: list[tuple[str, Future]]) -> None:
        try:
            answer = self.sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": body} for i, (body, _) in enumerate(items)])
        except Exception as exc:  # noqa: BLE001 - each waiting action fails with it
            for _, done in items:
                done.set_exception(exc)
            return
        failed = {f["Id"]: f for f in answer.get("Failed", [])}
        for i, (_, done) in enumerate(items):
            if str(i) in failed:
                done.set_exception(RuntimeError(f"SendMessageBatch: {failed[str(i)].get('Message')}"))
            else:
                done.set_result(None)


def _default_authorizer(event: dict) -> dict:
    from chalicelib.iot.authorizer import handle

    return handle(event, None)


def start_broker(state_dir: Path | str, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                 rules_dir: Path | str | None = None, ingest_queue_url: str | None = None,
                 retry_queue_url: str | None = None, send: Callable[[str, str], None] | None = None,
                 refresh_seconds: float = 5.0, workers: int = 16,
                 apply_env: bool = True, register_forwarder: bool = True) -> BrokerHandle:
    """Start the broker in a background thread; returns once it accepts connections."""
    import boto3

    from chalicelib.iot.policies import arn_prefix
    from devstack.broker.auth import Authenticator
    from devstack.broker.rules import RuleEngine, load_rules
    from devstack.broker.server import IotBroker

    hostnames = list(dict.fromkeys([host, "localhost", "127.0.0.1"]))
    ca = LocalCA(Path(state_dir) / "iot").ensure(hostnames)
    iot = boto3.client("iot")
    iot.register_ca_certificate(caCertificate=ca.ca_cert.read_text(), setAsActive=True, allowAutoRegistration=False)
    env = {
        "IOT_ENDPOINT": host,
        "IOT_PORT": str(port),
        "IOT_SERVER_CA_FILE": str(ca.ca_cert),
        "IOT_CA_CERT_FILE": str(ca.ca_cert),
        "IOT_CA_KEY_FILE": str(ca.ca_key),
    }
    if apply_env:
        os.environ.update(env)
        from chalicelib.iot import reset

        reset()

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    prefix = arn_prefix(region, os.environ.get("IOT_ACCOUNT_ID", "123456789012"))
    queues = {"${IngestQueueUrl}": ingest_queue_url or os.environ.get("INGEST_QUEUE_URL"),
              "${RetryQueueUrl}": retry_queue_url or os.environ.get("RETRY_QUEUE_URL")}
    queues = {k: v for k, v in queues.items() if v}  # a rule using a missing one fails to load
    sender = send or SqsSender()
    engine = RuleEngine(load_rules(Path(rules_dir) if rules_dir else ROOT / "iot_rules"), queues, sender)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="broker-rules")
    auth = Authenticator(iot, _default_authorizer, prefix, refresh_seconds)
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "ssl": True, "cafile": str(ca.ca_cert),
                                  "certfile": str(ca.server_cert), "keyfile": str(ca.server_key)}},
        "plugins": {},
        "timeout_disconnect_delay": 2,
    }

    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            broker = IotBroker(config, auth=auth, engine=engine, executor=executor, resource_prefix=prefix,
                               refresh_seconds=refresh_seconds)
            box["broker"], box["loop"], box["stop"] = broker, asyncio.get_running_loop(), asyncio.Event()
            await broker.start()
        except Exception as exc:
            box["error"] = exc
            ready.set()
            return
        ready.set()
        await box["stop"].wait()
        await broker.shutdown()

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="mqtt-broker", daemon=True)
    thread.start()
    ready.wait(timeout=30)
    if "error" in box or "broker" not in box:
        executor.shutdown(wait=False)
        if send is None:
            sender.close()
        exc = box.get("error")
        if exc is not None and "address already in use" in str(exc).lower():
            raise BrokerPortInUse(f"port {port} on {host} is already in use; set another with MQTT_PORT") from None
        raise RuntimeError(f"the MQTT broker did not start: {exc}") from exc

    def stop() -> None:
        loop = box["loop"]
        if loop.is_running():
            loop.call_soon_threadsafe(box["stop"].set)
            thread.join(timeout=15)
        executor.shutdown(wait=True, cancel_futures=False)
        if send is None:  # after the rule workers: nothing is waiting on it any more
            sender.close()

    handle = BrokerHandle(host, port, ca.ca_cert, env, box["broker"], box["loop"], stop)
    if register_forwarder:
        from chalicelib.messages.forward import set_forwarder

        set_forwarder(handle.forward)
    try:
        from chalicelib.iot import device_service

        restored = device_service().restore_registry()
        if restored:
            log.info("re-registered %d device certificate(s) in the local IoT registry", restored)
    except Exception:  # a fresh database without the devices table, or PostgreSQL not up: not fatal
        log.exception("could not restore device certificates into the IoT registry")
    return handle
