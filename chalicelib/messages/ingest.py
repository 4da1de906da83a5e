"""The ingestion pipeline shared by MQTT (topic rule -> ingest queue -> Lambda, in batches)
and HTTP publish (a batch of one).

decode -> authorize the publishers -> normalize -> write PostgreSQL and the backup, once per batch.
A store that fails gets the events on the retry queue (rows are deterministic, so the replay
writes exactly what would have been written). If the queue fails too, the call raises: SQS
delivers the batch again. Rejected messages are never retried; each is recorded with its reason.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.backup.dynamo import BackupUnavailable
from chalicelib.backup.retry_queue import MESSAGE_BYTES, grouped
from chalicelib.entities import ENABLED
from chalicelib.errors import Unavailable, Unstorable
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

    def check_many(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], Rejected | None]:
        """For each (channel, thing) pair, why the thing may not publish there (None: it may)."""
        verdicts: dict[tuple[str, str], Rejected | None] = {}
        for pair in pairs:
            if not _UUID.match(pair[1]):
                verdicts[pair] = Rejected("the publisher (MQTT client id) must be a thing id", 401)
        wanted = pairs - verdicts.keys()
        try:
            found = self.store.publish_checks(wanted)
        except Unavailable:
            if self.backup is None:
                raise
            found = {pair: self._from_backup(*pair) for pair in wanted}
        for pair in wanted:
            verdicts[pair] = _verdict(*found.get(pair, (False, False, False)))
        return verdicts

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


def _verdict(thing_ok: bool, channel_ok: bool, connected: bool) -> Rejected | None:
    if not thing_ok:
        return Rejected("unknown or disabled publisher", 401)
    if not channel_ok:
        return Rejected("unknown or disabled channel", 404)
    if not connected:
        return Rejected("publisher is not connected to this channel", 403)
    return None


def _rejection(msg: Incoming, reason: str) -> dict:
    return {"channel": msg.channel, "publisher": msg.publisher, "protocol": msg.protocol, "topic": msg.topic,
            "reason": reason, "payload": msg.payload, "received_at": msg.received_at}


class Ingestor:
    """Stores a batch of messages in one write per store: a batch from the ingest queue, or the
    single message of an HTTP publish."""

    def __init__(self, directory: Directory, writer: Any, backup: Any | None, queue: Any | None) -> None:
        self.directory = directory
        self.writer = writer  # PostgresMessageWriter
        self.backup = backup
        self.queue = queue

    def ingest(self, event: dict) -> Outcome:
        return self.ingest_batch([event])[0]

    def ingest_bodies(self, bodies: list[str]) -> dict:
        """A batch from the ingest queue (each body is the topic rule's JSON); returns counts per status."""
        events = []
        for body in bodies:
            try:
                events.append(json.loads(body))
            except ValueError:
                events.append(None)  # rejected below, like any event that is not an object
        counts: dict[str, int] = {}
        for outcome in self.ingest_batch(events):
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts

    def ingest_batch(self, events: list) -> list[Outcome]:
        """One outcome per event, in order. Rejections are decided per message; the accepted
        messages are written together, so a store failure queues all of them for retry."""
        outcomes: list[Outcome | None] = [None] * len(events)
        rejections: list[dict] = []

        def reject(i: int, msg: Incoming | None, reason: str, code: int) -> None:
            event = events[i]
            log.info("rejected message on %s: %s", event.get("topic", "?") if isinstance(event, dict) else "?",
                     reason)
            outcomes[i] = Outcome("rejected", reason=reason, channel=msg.channel if msg else "", code=code)
            if msg is not None:  # without a decoded message there is no channel owner to show it to
                rejections.append(_rejection(msg, reason))

        decoded: list[tuple[int, Incoming]] = []
        for i, event in enumerate(events):
            try:
                decoded.append((i, decode(event)))
            except InvalidMessage as exc:
                reject(i, None, exc.reason, 400)
        verdicts = self.directory.check_many({(msg.channel, msg.publisher) for _, msg in decoded})
        authorized: list[tuple[int, Incoming]] = []
        for i, msg in decoded:
            problem = verdicts[(msg.channel, msg.publisher)]
            if problem is None:
                authorized.append((i, msg))
            else:
                reject(i, msg, problem.reason, problem.status)
        accepted: list[tuple[int, Incoming, Rows]] = []

        def normalized() -> Iterator[Rows]:
            # Lazily: PostgreSQL copies a message's rows while the next one is being normalized.
            for i, msg in authorized:
                try:
                    rows = build_rows(msg)
                except InvalidMessage as exc:
                    reject(i, msg, exc.reason, 400)
                    continue
                accepted.append((i, msg, rows))
                yield rows

        if authorized:
            parts = normalized()
            try:
                stored = [(self._store(events, parts, accepted), accepted)]
            except Unstorable:
                for _ in parts:  # normalize the rest of the batch: `accepted` fills as it goes
                    pass
                stored = self._store_one_by_one(events, accepted, reject)
            for status, group in stored:
                for i, msg, rows in group:
                    outcomes[i] = Outcome(status, len(rows), channel=msg.channel)
        if rejections:
            self._record(rejections)
        return outcomes

    def _store(self, events: list, parts: Iterator[Rows], accepted: list[tuple[int, Incoming, Rows]]) -> str:
        """`accepted` fills up as `parts` is read."""
        missed = self._write(parts, (POSTGRES, BACKUP))
        if not missed:
            return "stored"
        # As many events per retry message as fit: a replay is then one write, like the batch was.
        chunks = grouped([events[i] for i, _, _ in accepted], lambda e: len(json.dumps(e)), MESSAGE_BYTES - 1024)
        self.queue.enqueue([{"v": 1, "kind": "ingest", "target": t, "events": chunk}
                            for chunk in chunks for t in missed])
        return "queued"

    def _store_one_by_one(self, events: list, accepted: list[tuple[int, Incoming, Rows]],
                          reject: Callable[[int, Incoming, str, int], None]) -> list[tuple[str, list]]:
        """PostgreSQL refused the batch for what one message holds; that one must not sink the
        others. Rare, so the messages are simply stored one by one to find it."""
        stored = []
        for item in accepted:
            try:
                stored.append((self._store(events, iter([item[2]]), [item]), [item]))
            except Unstorable as exc:
                reject(item[0], item[1], exc.message, 400)
        return stored

    def _record(self, rejections: list[dict]) -> None:
        try:
            self.writer.record_rejections(rejections)
        except Unavailable:
            log.warning("could not record %d rejection(s) while PostgreSQL is down", len(rejections))

    def replay(self, events: list[dict], target: str) -> None:
        """Write already accepted events to one store (raises while that store is still down)."""
        messages = [decode(event) for event in events]
        parts = [build_rows(msg) for msg in messages]
        try:
            missed = self._write(iter(parts), (target,))
        except Unstorable:
            # As in ingest_batch: one by one, and what PostgreSQL refuses is recorded, not retried
            # (no retry changes what a message holds).
            missed = []
            for msg, rows in zip(messages, parts):
                try:
                    missed += self._write(iter([rows]), (target,))
                except Unstorable as exc:
                    log.warning("replayed message on %s refused: %s", msg.topic, exc.message)
                    self._record([_rejection(msg, exc.message)])
        if missed:
            raise Unavailable(f"{target} still unavailable")

    def _write(self, parts: Iterable[Rows], targets: tuple[str, ...]) -> list[str]:
        """PostgreSQL first, reading `parts` as it copies; then the backup, with all of them.
        Returns the targets that failed."""
        taken: list[Rows] = []

        def each() -> Iterator[tuple[list[dict], list[dict]]]:
            for rows in parts:
                taken.append(rows)
                yield rows.senml, rows.json

        stream = each()
        missed = []
        if POSTGRES in targets:
            try:
                self.writer.write_parts(stream)
            except Unavailable as exc:
                log.warning("PostgreSQL write failed, queuing: %s", exc)
                missed.append(POSTGRES)
        for _ in stream:  # what PostgreSQL did not read (it failed, or was not a target)
            pass
        if BACKUP in targets and self.backup is not None:
            batch = Rows.joined(taken)
            try:
                self.backup.write_messages(batch.senml, batch.json)
            except BackupUnavailable as exc:
                log.warning("backup write failed, queuing: %s", exc)
                missed.append(BACKUP)
        if missed and self.queue is None:
            raise Unavailable("a store failed and no retry queue is configured")
        return missed
