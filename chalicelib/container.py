"""Builds the services once per Lambda container (or local process) and keeps them.

The DynamoDB backup and the retry queue are switched on by BACKUP_TABLE and
RETRY_QUEUE_URL; without them (unit tests of the core) PostgreSQL stands alone.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalicelib.config import settings
from chalicelib.mail import mail_sender
from chalicelib.messages.ingest import Directory, Ingestor
from chalicelib.messages.publish import HttpPublisher
from chalicelib.backup.replay import Replayer
from chalicelib.services.backup_admin import BackupAdmin
from chalicelib.services.channels import ChannelService
from chalicelib.services.things import ThingService
from chalicelib.services.users import UserService
from chalicelib.store.db import Database
from chalicelib.store.message_writer import PostgresMessageWriter
from chalicelib.store.postgres import PostgresStore
from chalicelib.store.verifications import VerificationLog


@dataclass(frozen=True)
class Services:
    users: UserService
    things: ThingService
    channels: ChannelService
    store: Any
    ingestor: Ingestor
    publisher: HttpPublisher
    replayer: Replayer
    messages: PostgresMessageWriter
    backup: Any | None
    queue: Any | None
    backup_admin: BackupAdmin


@lru_cache(maxsize=1)
def services() -> Services:
    s = settings()
    db = Database(s.database_url, s.db_pool_size)
    primary = PostgresStore(db, s.data_key)
    backup = queue = syncer = verifier = dead_letters = None
    store: Any = primary
    writer = PostgresMessageWriter(db)
    if os.environ.get("BACKUP_TABLE"):
        from chalicelib.backup.dynamo import DynamoBackup
        from chalicelib.backup.mirror import MirroredStore
        from chalicelib.backup.retry_queue import RetryQueue
        from chalicelib.backup.sync import EntitySync

        backup = DynamoBackup(os.environ["BACKUP_TABLE"], s.data_key)
        queue = RetryQueue(os.environ["RETRY_QUEUE_URL"])
        syncer = EntitySync(primary, backup)
        store = MirroredStore(primary, syncer, queue)
        from chalicelib.backup.dead_letters import DeadLetters
        from chalicelib.backup.verify import BackupVerifier

        verifier = BackupVerifier(db, primary, backup, writer)
        if os.environ.get("DEAD_LETTER_QUEUE_URL"):
            dead_letters = DeadLetters(os.environ["DEAD_LETTER_QUEUE_URL"], os.environ["RETRY_QUEUE_URL"])
    from chalicelib.iot.sync_store import IotSyncedStore

    # Device certificates and IoT policies follow every connect, disconnect, enable and delete.
    store = IotSyncedStore(store)
    things = ThingService(store)
    ingestor = Ingestor(Directory(primary, backup), writer, backup, queue)
    return Services(
        users=UserService(store, s, mail_sender(s.mail_sender)),
        things=things,
        channels=ChannelService(store, things),
        store=store,
        ingestor=ingestor,
        publisher=HttpPublisher(things, ingestor, backup, s.data_key),
        replayer=Replayer(ingestor, syncer),
        messages=writer,
        backup=backup,
        queue=queue,
        backup_admin=BackupAdmin(verifier, dead_letters, VerificationLog(db)),
    )


def reset() -> None:
    """Forget the wiring (tests change the environment between runs)."""
    from chalicelib import iot

    settings.cache_clear()
    services.cache_clear()
    iot.reset()
