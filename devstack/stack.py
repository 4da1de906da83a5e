"""The whole platform on one machine: each AWS part replaced by a local stand-in.

Used by `make run` (devstack/run.py) and by end-to-end tests. Parts start in
dependency order and stop in reverse; ports come from the environment.
"""
from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from devstack.api_server import PortInUse
from devstack.state import local_secrets, state_dir

log = logging.getLogger("devstack")
ADMIN_IDENTITY = "admin@example.com"


def check_port(host: str, port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise PortInUse(f"port {port} on {host} is already in use; choose another with {variable}=...") from None


@dataclass
class Ports:
    host: str = "127.0.0.1"
    api: int = 8000
    dashboard: int = 8080
    mqtt: int = 8883
    moto: int = 5000

    @classmethod
    def from_env(cls) -> Ports:
        return cls(host=os.environ.get("STACK_HOST", "127.0.0.1"),
                   api=int(os.environ.get("API_PORT", "8000")),
                   dashboard=int(os.environ.get("DASHBOARD_PORT", "8080")),
                   mqtt=int(os.environ.get("MQTT_PORT", "8883")),
                   moto=int(os.environ.get("MOTO_PORT", "5000")))


@dataclass
class LocalStack:
    ports: Ports = field(default_factory=Ports.from_env)
    state: Path = field(default_factory=state_dir)
    env: dict[str, str] = field(default_factory=dict)
    _stops: list = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.api}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.dashboard}"

    def start(self) -> LocalStack:
        for port, variable in ((self.ports.api, "API_PORT"), (self.ports.moto, "MOTO_PORT"),
                               (self.ports.mqtt, "MQTT_PORT"), (self.ports.dashboard, "DASHBOARD_PORT")):
            check_port(self.ports.host, port, variable)
        try:
            self._start_parts()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_parts(self) -> None:
        secrets = local_secrets(self.state)
        self._set("JWT_SECRET", os.environ.get("JWT_SECRET", secrets["JWT_SECRET"]))
        self._set("DATA_KEY", os.environ.get("DATA_KEY", secrets["DATA_KEY"]))

        from devstack.postgres import start_postgres

        url, pg = start_postgres(self.state / "postgres")
        if pg is not None:
            self._stops.append(pg.cleanup)
        self._set("DATABASE_URL", url)
        from chalicelib.store.migrate import migrate

        applied = migrate(url)
        log.info("migrations applied: %s", ", ".join(applied) or "none pending")

        from devstack import aws

        moto = aws.start_moto(self.ports.host, self.ports.moto)
        self._stops.append(moto.stop)
        aws.use_endpoint(f"http://{self.ports.host}:{self.ports.moto}")
        for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            self.env[key] = os.environ[key]
        for key, value in aws.create_resources().items():
            self._set(key, value)

        from chalicelib.container import reset, services

        reset()
        admin_secret = os.environ.get("ADMIN_SECRET", secrets["ADMIN_SECRET"])
        self.admin_identity = os.environ.get("ADMIN_IDENTITY", ADMIN_IDENTITY)
        services().users.ensure_admin(self.admin_identity, admin_secret)

        import app as app_module
        from devstack.api_server import serve

        api = serve(app_module.app, self.ports.host, self.ports.api)
        self._stops.append(api.shutdown)

        from devstack.sqs_poller import SqsPoller, ingest_poller

        # Lambda's SQS event sources: each poller calls its function from its own thread.
        retry = SqsPoller(self.env["RETRY_QUEUE_URL"], app_module.retry, wait_seconds=1).start()
        self._stops.append(retry.stop)
        ingest = ingest_poller(self.env["INGEST_QUEUE_URL"], app_module).start()
        # moto's queues live in memory: store what the broker acknowledged before they go away.
        self._stops.append(lambda: ingest.stop(drain=True))

        from devstack.dashboard_server import serve_dashboard

        dashboard = serve_dashboard(self.ports.host, self.ports.dashboard, self.api_url,
                                    extra_config={"mqtt": {"host": self.ports.host, "port": self.ports.mqtt}})
        self._stops.append(dashboard.shutdown)

        from devstack.broker import start_broker

        broker = start_broker(self.state, self.ports.host, self.ports.mqtt)
        self._stops.append(broker.stop)
        self.env.update(broker.env)

        # What the command-line tools (`python -m devstack verify`, `dlq`) need to reach this stack.
        env_file = self.state / "stack.env.json"
        env_file.touch(mode=0o600)
        env_file.write_text(json.dumps(self.env, indent=2))

    def _set(self, key: str, value: str) -> None:
        os.environ[key] = value
        self.env[key] = value

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception:  # noqa: BLE001 - stop the rest regardless
                log.exception("stopping a part of the stack failed")
