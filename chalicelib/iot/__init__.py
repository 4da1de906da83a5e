"""AWS IoT Core for devices: custom authorizer, per-thing policies, certificates, connection info.

Public surface (heavy imports stay deferred: the authorizer Lambda imports only what it uses):
    device_service()             -> DeviceService, built once per container
    sync_things(thing_ids)       -> re-apply certificate status and policies after entity changes
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def device_service() -> Any:
    from chalicelib.config import settings
    from chalicelib.container import services
    from chalicelib.iot.devices import DeviceService
    from chalicelib.iot.repository import CertificateRepository
    from chalicelib.store.db import Database

    s, cfg = services(), settings()
    return DeviceService(s.things, s.store, CertificateRepository(Database(cfg.database_url, cfg.db_pool_size)))


def sync_things(thing_ids: list[str]) -> None:
    """Call after connect/disconnect, thing enable/disable/delete, channel enable/disable/delete.

    Cheap for things without certificates (one indexed query each); the custom authorizer needs
    nothing (it reads PostgreSQL on every connect and refresh).
    """
    if thing_ids:
        device_service().sync(list(thing_ids))


def reset() -> None:
    device_service.cache_clear()
