"""The ingestion pipeline shared by MQTT (topic rule -> Lambda) and HTTP publish.

decode -> authorize the publisher -> normalize -> write PostgreSQL and the backup.
A store that fails gets the event on the retry queue (rows are deterministic, so
the replay writes exactly what would have been written). If the queue fails too,
the call raises: Lambda's own retries and on-failure destination keep the event.
Rejected messages are never retried; each is recorded with its reason.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.backup.dynamo import BackupUnavailable
from chalicelib.entities import ENABLED
from chalicelib.errors import Unavailable
from chalicelib.messages.records import Incoming, InvalidMessage, Rows, build_rows, decode

log = logging.getLogger("platform.ingest")

_UUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")
POSTGRES = "postgres"
BACKUP = "backup"


class Rejected(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Outcome:
    status: str  # stored | queued | rejected
    records: int = 0
    reason: str = ""
    channel: str = ""
    code: int = 202  # the HTTP status a publisher gets

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


class Directory:
    """Who may publish where: PostgreSQL first, the backup's copy when PostgreSQL is down."""

    def __init__(self, store: Any, backup: Any | None) -> None:
        self.store = store
        self.backup = backup

    def check(self, channel_id: str, thing_id: str) -> None:
        if not _UUID.match(thing_id):
            raise Rejected("the publisher (MQTT client id) must be a thing id", 401)
        try:
            thing_ok, channel_ok, connected = self.store.publish_check(channel_id, thing_id)
        except Unavailable:
            if self.backup is None:
                raise
            thing_ok, channel_ok, connected = self._from_backup(channel_id, thing_id)
        if not thing_ok:
            raise Rejected("unknown or disabled publisher", 401)
        if not channel_ok:
            raise Rejected("unknown or disabled channel", 404)
        if not connected:
            raise Rejected("publisher is not connected to this channel", 403)

    def _from_backup(self, channel_id: str, thing_id: str) -> tuple[bool, bool, bool]:
        try:
            thing = self.backup.get(f"thing#{thing_id}", "thing")
            channel = self.backup.get(f"channel#{channel_id}", "channel")
            link = self.backup.get(f"channel#{channel_id}", f"thing#{thing_id}")
        except BackupUnavailable as exc:
            raise Unavailable("neither PostgreSQL nor the backup can authorize the publisher") from exc
        return (bool(thing) and thing.get("status") == ENABLED,
                bool(channel) and channel.get("status") == ENABLED,
                link is not None)


class Ingestor:
    def __init__(self, directory: Directory, writer: Any, backup: Any | None, queue: Any | None) -> None:
        self.directory = directory
        self.writer = writer  # PostgresMessageWriter
        self.backup = backup
        self.queue = queue

    def ingest(self, event: dict) -> Outcome:
        msg: Incoming | None = None
        try:
            msg = decode(event)
            self.directory.check(msg.channel, msg.publisher)
            rows = build_rows(msg)
        except InvalidMessage as exc:
            return self._reject(event, msg, exc.reason, 400)
        except Rejected as exc:
            return self._reject(event, msg, exc.reason, exc.status)
        missed = self._write(rows, (POSTGRES, BACKUP))
        if missed:
            self.queue.enqueue([{"v": 1, "kind": "ingest", "target": t, "event": event} for t in missed])
            return Outcome("queued", len(rows), channel=msg.channel)
        return Outcome("stored", len(rows), channel=msg.channel)

    def ingest_bodies(self, bodies: list[str]) -> dict:
        """A batch from the ingest queue (each body is the topic rule's JSON); returns counts per status."""
        counts: dict = {}
        for body in bodies:
            try:
                event = json.loads(body)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                log.warning("ingest queue message is not a JSON object; dropped")
                counts["rejected"] = counts.get("rejected", 0) + 1
                continue
            status = self.ingest(event).status
            counts[status] = counts.get(status, 0) + 1
        return counts

    def replay(self, event: dict, target: str) -> None:
        """Write an already accepted event to one store (raises while that store is still down)."""
        rows = build_rows(decode(event))
        if self._write(rows, (target,)):
            raise Unavailable(f"{target} still unavailable")

    def _write(self, rows: Rows, targets: tuple[str, ...]) -> list[str]:
        missed = []
        if POSTGRES in targets:
            try:
                self.writer.write(rows.senml, rows.json)
            except Unavailable as exc:
                log.warning("PostgreSQL write failed, queuing: %s", exc)
                missed.append(POSTGRES)
        if BACKUP in targets and self.backup is not None:
            try:
                self.backup.write_messages(rows.senml, rows.json)
            except BackupUnavailable as exc:
                log.warning("backup write failed, queuing: %s", exc)
                missed.append(BACKUP)
        if missed and self.queue is None:
            raise Unavailable("a store failed and no retry queue is configured")
        return missed

    def _reject(self, event: dict, msg: Incoming | None, reason: str, code: int) -> Outcome:
        channel = msg.channel if msg else None
        log.info("rejected message on %s: %s", event.get("topic", "?") if isinstance(event, dict) else "?", reason)
        if msg is not None:
            try:
                self.writer.record_rejection(channel, msg.publisher, msg.protocol, msg.topic, reason, msg.payload,
                                             msg.received_at)
            except Unavailable:
                log.warning("could not record a rejection while PostgreSQL is down")
        return Outcome("rejected", reason=reason, channel=channel or "", code=code)
