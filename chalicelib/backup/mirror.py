"""The PostgreSQL store, wrapped so that every write is mirrored to the DynamoDB backup.

Services see the same interface as PostgresStore. After each successful write the
touched entities are synced to the backup; whatever fails to sync goes to the retry
queue and the caller still succeeds. If PostgreSQL itself fails, the write raises
(503) before anything reaches the backup, so nothing is half-written.
"""
from __future__ import annotations

import logging
from typing import Any

from chalicelib.backup import sync as keys
from chalicelib.backup.dynamo import BackupUnavailable
from chalicelib.backup.retry_queue import RetryQueueUnavailable
from chalicelib.errors import Unavailable

log = logging.getLogger("platform.backup")


class MirroredStore:
    def __init__(self, primary: Any, syncer: keys.EntitySync, queue: Any) -> None:
        self.primary = primary
        self.syncer = syncer
        self.queue = queue

    def __getattr__(self, name: str) -> Any:
        # Reads (and anything not written below) go straight to PostgreSQL.
        return getattr(self.primary, name)

    def _mirror(self, changed: list[dict]) -> None:
        missed = []
        for key in changed:
            try:
                self.syncer.sync(key)
            except (BackupUnavailable, Unavailable) as exc:
                log.warning("backup sync failed for %s %s: %s", key["entity"], key.get("id", ""), exc)
                missed.append(key)
        if missed:
            try:
                self.queue.enqueue(missed)
            except RetryQueueUnavailable:
                # PostgreSQL has the write; `verify`/`repair` will find and fix this drift.
                log.error("backup drift: %d change(s) neither mirrored nor queued", len(missed))

    def save_user(self, user):
        result = self.primary.save_user(user)
        self._mirror([keys.user_key(user.id)])
        return result

    def save_things(self, things):
        result = self.primary.save_things(things)
        self._mirror([keys.thing_key(t.id) for t in things])
        return result

    def delete_thing(self, thing_id):
        self.primary.delete_thing(thing_id)
        self._mirror([keys.thing_key(thing_id)])

    def share_thing(self, thing_id, user_ids, relation):
        self.primary.share_thing(thing_id, user_ids, relation)
        self._mirror([keys.thing_key(thing_id)])

    def unshare_thing(self, thing_id, user_ids):
        self.primary.unshare_thing(thing_id, user_ids)
        self._mirror([keys.thing_key(thing_id)])

    def save_channels(self, channels):
        result = self.primary.save_channels(channels)
        self._mirror([keys.channel_key(c.id) for c in channels])
        return result

    def delete_channel(self, channel_id):
        self.primary.delete_channel(channel_id)
        self._mirror([keys.channel_key(channel_id)])

    def connect(self, connections):
        result = self.primary.connect(connections)
        self._mirror([keys.connection_key(c.channel_id, c.thing_id) for c in connections])
        return result

    def disconnect(self, connections):
        result = self.primary.disconnect(connections)
        self._mirror([keys.connection_key(c.channel_id, c.thing_id) for c in connections])
        return result
