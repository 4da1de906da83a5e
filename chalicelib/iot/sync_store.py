"""The store, wrapped so that IoT Core follows every change that affects what a device may do.

Certificates carry IoT policies naming the thing's channels and an ACTIVE/INACTIVE status;
after a connect, disconnect, thing or channel change (status, deletion) the things concerned
are re-synced (chalicelib.iot.sync_things). Only things that hold an active certificate cost
any IoT call. The custom authorizer (id/key logins) needs none of this: it reads PostgreSQL on
every connect and refresh.

An IoT failure does not fail the API write (PostgreSQL has it); it is logged, and the next sync
of that thing, or `python -m devstack iot-sync`-style reconciliation, repairs it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("platform.iot")


def _default_sync(thing_ids: list[str]) -> None:
    from chalicelib.iot import sync_things

    sync_things(thing_ids)


def _default_things_on(channel_ids: list[str]) -> list[str]:
    from chalicelib.iot import device_service

    return device_service().repo.things_on_channels(channel_ids)


class IotSyncedStore:
    def __init__(self, inner: Any, sync: Callable[[list[str]], None] = _default_sync,
                 things_on: Callable[[list[str]], list[str]] = _default_things_on) -> None:
        self.inner = inner
        self._sync_fn = sync
        self._things_on = things_on

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _sync(self, thing_ids: list[str]) -> None:
        if not thing_ids:
            return
        try:
            self._sync_fn(list(dict.fromkeys(thing_ids)))
        except Exception:  # noqa: BLE001 - PostgreSQL has the write; IoT catches up on the next sync
            log.exception("IoT policies/certificates not synced for things %s", ", ".join(thing_ids))

    def _on_channels(self, channel_ids: list[str]) -> list[str]:
        try:
            return self._things_on(channel_ids)
        except Exception:  # noqa: BLE001
            log.exception("could not list the things of channels %s", ", ".join(channel_ids))
            return []

    def save_things(self, things):
        result = self.inner.save_things(things)
        self._sync([t.id for t in things])
        return result

    def delete_thing(self, thing_id):
        self.inner.delete_thing(thing_id)
        self._sync([thing_id])

    def save_channels(self, channels):
        result = self.inner.save_channels(channels)
        self._sync(self._on_channels([c.id for c in channels]))
        return result

    def delete_channel(self, channel_id):
        affected = self._on_channels([channel_id])  # before the connections go with the channel
        self.inner.delete_channel(channel_id)
        self._sync(affected)

    def connect(self, connections):
        result = self.inner.connect(connections)
        self._sync([c.thing_id for c in connections])
        return result

    def disconnect(self, connections):
        result = self.inner.disconnect(connections)
        self._sync([c.thing_id for c in connections])
        return result
