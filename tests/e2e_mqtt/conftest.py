"""The whole platform, started by the tests: PostgreSQL, moto server, the API over HTTP, the broker,
and the ingest queue's poller feeding the `ingest` handler (Lambda's SQS event source)."""
from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "BACKUP_TABLE",
            "RETRY_QUEUE_URL", "INGEST_QUEUE_URL", "DEAD_LETTER_QUEUE_URL", "IOT_ENDPOINT", "IOT_PORT", "IOT_SERVER_CA_FILE",
            "IOT_CA_CERT_FILE", "IOT_CA_KEY_FILE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, api_url: str, broker, database_url: str, resources: dict, ingest) -> None:
        self.api = api_url
        self.broker = broker
        self.database_url = database_url
        self.backup_table = resources["BACKUP_TABLE"]
        self.ingest_queue = resources["INGEST_QUEUE_URL"]
        self.retry_queue = resources["RETRY_QUEUE_URL"]
        self.ingest = ingest  # the SqsPoller on the ingest queue
        self.http = requests.Session()

    # -- API helpers -------------------------------------------------------------
    def call(self, method: str, path: str, body=None, token: str | None = None, headers=None,
             expect: int | None = None):
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["Authorization"] = token if " " in token else f"Bearer {token}"
        hdrs.update(headers or {})
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        r = self.http.request(method, self.api + path, data=data, headers=hdrs, timeout=30)
        if expect is not None:
            assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r

    def user(self) -> str:
        email = f"u{uuid.uuid4().hex[:10]}@example.com"
        self.call("POST", "/users", {"name": "u", "credentials": {"identity": email, "secret": "a-long-password"}},
                  expect=201)
        return self.call("POST", "/users/tokens/issue", {"identity": email, "secret": "a-long-password"},
                         expect=201).json()["access_token"]

    def thing(self, token: str, name: str = "t") -> dict:
        return self.call("POST", "/things", {"name": name}, token, expect=201).json()

    def channel(self, token: str, name: str = "c") -> dict:
        return self.call("POST", "/channels", {"name": name}, token, expect=201).json()

    def connect(self, token: str, thing_id: str, channel_id: str) -> None:
        self.call("POST", f"/channels/{channel_id}/things/{thing_id}/connect", None, token, expect=201)

    def certificate(self, token: str, thing_id: str) -> dict:
        return self.call("POST", f"/things/{thing_id}/certificates", None, token, expect=201).json()

    # -- devices -------------------------------------------------------------------
    def device(self, thing: dict, cert: dict | None = None, key: str | None = None, client_id: str | None = None):
        from devstack.simulator import Device

        return Device(thing["id"], thing_key=key if cert is None else None,
                      cert=cert["certificate_pem"] if cert else None,
                      key=cert["private_key_pem"] if cert else None, client_id=client_id)

    def online(self, device, timeout: float = 10.0):
        return device.connect(self.broker.host, self.broker.port, self.broker.ca_file, timeout=timeout)

    # -- what got stored -------------------------------------------------------------
    def pg_rows(self, channel_id: str) -> list[dict]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.database_url, row_factory=dict_row) as conn:
            return conn.execute("SELECT * FROM messages WHERE channel = %s", (channel_id,)).fetchall()

    def read_messages(self, token: str, channel_id: str, limit: int = 1000) -> list[dict]:
        r = self.call("GET", f"/channels/{channel_id}/messages?limit={limit}", None, token, expect=200)
        return r.json()["messages"]

    def backup_items(self, channel_id: str) -> list[dict]:
        import boto3
        from boto3.dynamodb.conditions import Key

        table = boto3.resource("dynamodb").Table(self.backup_table)
        items, kwargs = [], {"KeyConditionExpression": Key("pk").eq(f"msgs#{channel_id}")}
        while True:
            page = table.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def in_queue(self, url: str) -> int:
        """Messages on a queue, waiting or being handled."""
        import boto3

        attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return sum(int(v) for v in attrs.values())

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the ingest poller has handled everything on the ingest queue."""
        assert self.wait_for(lambda: self.in_queue(self.ingest_queue) == 0, timeout), "ingest queue not drained"

    def wait_for(self, check, timeout: float = 15.0, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)


def _ensure_blueprints(app) -> None:
    """The device and reader routes, if app.py does not register them (yet)."""
    from chalicelib.routes import devices, readers

    paths = set(app.routes)
    if "/things/{thing_id}/certificates" not in paths:
        app.register_blueprint(devices.bp)
    if "/channels/{channel_id}/messages" not in paths or "GET" not in app.routes["/channels/{channel_id}/messages"]:
        app.register_blueprint(readers.bp)


@pytest.fixture(scope="package")
def stack(database_url):
    from chalicelib import iot
    from chalicelib.container import reset
    from devstack.api_server import serve
    from devstack.aws import create_resources, start_moto, use_endpoint
    from devstack.broker import start_broker
    from devstack.sqs_poller import ingest_poller

    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    moto_port = free_port()
    moto = start_moto("127.0.0.1", moto_port)
    use_endpoint(f"http://127.0.0.1:{moto_port}")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    resources = create_resources(prefix=f"e2e-{uuid.uuid4().hex[:6]}-")
    os.environ.update(resources)
    reset()
    iot.reset()
    state = Path(tempfile.mkdtemp(prefix="e2e-mqtt-"))
    broker = start_broker(state, "127.0.0.1", free_port(), refresh_seconds=1.0)

    import app as app_module

    _ensure_blueprints(app_module.app)
    api_port = free_port()
    server = serve(app_module.app, "127.0.0.1", api_port)
    ingest = ingest_poller(resources["INGEST_QUEUE_URL"], app_module).start()
    try:
        yield Stack(f"http://127.0.0.1:{api_port}", broker, database_url, resources, ingest)
    finally:
        server.shutdown()
        broker.stop()
        ingest.stop()
        moto.stop()
        try:
            from chalicelib.messages.forward import set_forwarder

            set_forwarder(None)
        except ImportError:
            pass
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset()
        iot.reset()
