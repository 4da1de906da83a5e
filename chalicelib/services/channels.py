"""Channels and the connections between things and channels."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from chalicelib.entities import DISABLED, ENABLED, Channel, Connection, ListQuery, Page, User, now
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.services.things import ThingService


@dataclass
class NewChannel:
    name: str = ""
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = ENABLED
    id: str | None = None


class ChannelService:
    def __init__(self, store: Any, things: ThingService) -> None:
        self.store = store
        self.things = things

    def _authorize(self, caller: User, channel_id: str) -> Channel:
        channel = self.store.get_channel(channel_id)
        if channel is None or not (caller.is_admin or channel.owner_id == caller.id):
            raise NotFound("channel not found")
        return channel

    def create(self, caller: User, specs: list[NewChannel]) -> list[Channel]:
        if not specs:
            raise BadRequest("at least one channel is required")
        channels = [
            Channel(id=(s.id or str(uuid.uuid4())).lower(), owner_id=caller.id, name=s.name,
                    description=s.description, metadata=s.metadata, status=s.status)
            for s in specs
        ]
        for channel in channels:
            if self.store.get_channel(channel.id) is not None:
                raise Conflict(f"channel {channel.id} already exists")
        return self.store.save_channels(channels)

    def view(self, caller: User, channel_id: str) -> Channel:
        return self._authorize(caller, channel_id)

    def list(self, caller: User, query: ListQuery) -> Page[Channel]:
        return self.store.list_channels(query, viewer=None if caller.is_admin else caller.id)

    def list_by_thing(self, caller: User, thing_id: str, query: ListQuery, connected: bool) -> Page[Channel]:
        self.things.view(caller, thing_id)
        return self.store.list_channels(query, viewer=None if caller.is_admin else caller.id,
                                        thing_id=thing_id, connected=connected)

    def _change(self, caller: User, channel_id: str, **fields: Any) -> Channel:
        channel = self._authorize(caller, channel_id)
        for key, value in fields.items():
            setattr(channel, key, value)
        channel.updated_at = now()
        return self.store.save_channels([channel])[0]

    def update(self, caller: User, channel_id: str, name: str | None, description: str | None,
               metadata: dict | None) -> Channel:
        fields = {k: v for k, v in (("name", name), ("description", description), ("metadata", metadata))
                  if v is not None}
        return self._change(caller, channel_id, **fields)

    def enable(self, caller: User, channel_id: str) -> Channel:
        return self._change(caller, channel_id, status=ENABLED)

    def disable(self, caller: User, channel_id: str) -> Channel:
        return self._change(caller, channel_id, status=DISABLED)

    def delete(self, caller: User, channel_id: str) -> None:
        self._authorize(caller, channel_id)
        self.store.delete_channel(channel_id)

    def list_things(self, caller: User, channel_id: str, query: ListQuery, connected: bool):
        self._authorize(caller, channel_id)
        return self.things.list_by_channel(caller, channel_id, query, connected)

    # -- connections -------------------------------------------------------

    def _authorize_pairs(self, caller: User, pairs: list[Connection]) -> list[Connection]:
        """Connecting needs rights on both ends: own the channel, edit the thing."""
        if not pairs:
            raise BadRequest("at least one thing and one channel are required")
        for channel_id in {p.channel_id for p in pairs}:
            self._authorize(caller, channel_id)
        for thing_id in {p.thing_id for p in pairs}:
            self.things.authorize_editor(caller, thing_id)
        return pairs

    def connect(self, caller: User, pairs: list[Connection]) -> list[Connection]:
        return self.store.connect(self._authorize_pairs(caller, pairs))

    def disconnect(self, caller: User, pairs: list[Connection]) -> list[Connection]:
        return self.store.disconnect(self._authorize_pairs(caller, pairs))
