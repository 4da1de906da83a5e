"""Builds the services once per Lambda container (or local process) and keeps them."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from chalicelib.config import settings
from chalicelib.mail import mail_sender
from chalicelib.services.channels import ChannelService
from chalicelib.services.things import ThingService
from chalicelib.services.users import UserService
from chalicelib.store.db import Database
from chalicelib.store.postgres import PostgresStore


@dataclass(frozen=True)
class Services:
    users: UserService
    things: ThingService
    channels: ChannelService
    store: PostgresStore


@lru_cache(maxsize=1)
def services() -> Services:
    s = settings()
    store = PostgresStore(Database(s.database_url, s.db_pool_size), s.data_key)
    things = ThingService(store)
    return Services(
        users=UserService(store, s, mail_sender(s.mail_sender)),
        things=things,
        channels=ChannelService(store, things),
        store=store,
    )


def reset() -> None:
    """Forget the wiring (tests change the environment between runs)."""
    settings.cache_clear()
    services.cache_clear()
