"""Things (devices and apps): ownership, sharing and keys."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from chalicelib.entities import DISABLED, ENABLED, ListQuery, Page, Thing, User, now
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthenticated
from chalicelib.security import thing_keys

# What each relation to a thing allows.
_VIEW = {"owner", "administrator", "editor", "viewer"}
_EDIT = {"owner", "administrator", "editor"}
_MANAGE = {"owner", "administrator"}  # delete, share


@dataclass
class NewThing:
    name: str = ""
    identity: str = ""
    secret: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = ENABLED
    id: str | None = None


class ThingService:
    def __init__(self, store: Any) -> None:
        self.store = store

    def _authorize(self, caller: User, thing_id: str, allowed: set[str]) -> Thing:
        thing = self.store.get_thing(thing_id)
        relation = "owner" if caller.is_admin else (
            self.store.thing_relation(thing_id, caller.id) if thing else None)
        if thing is None or relation is None:
            # Someone else's thing looks exactly like a missing one.
            raise NotFound("thing not found")
        if relation not in allowed:
            raise Forbidden(f"your '{relation}' share does not allow this")
        return thing

    def create(self, caller: User, specs: list[NewThing]) -> list[Thing]:
        if not specs:
            raise BadRequest("at least one thing is required")
        keys = [s.secret for s in specs if s.secret]
        if len(set(keys)) != len(keys):
            raise Conflict("two things in the request share a key")
        ids = [s.id.lower() for s in specs if s.id]
        if len(set(ids)) != len(ids):
            raise Conflict("two things in the request share an id")
        things = []
        for spec in specs:
            if spec.secret is not None and len(spec.secret) < thing_keys.MIN_KEY_LENGTH:
                raise BadRequest(f"thing secret must be at least {thing_keys.MIN_KEY_LENGTH} characters")
            if spec.id and self.store.get_thing(spec.id) is not None:
                raise Conflict(f"thing {spec.id} already exists")
            things.append(Thing(
                id=(spec.id or str(uuid.uuid4())).lower(), owner_id=caller.id,
                key=spec.secret or thing_keys.generate_key(), name=spec.name,
                identity=spec.identity, tags=spec.tags, metadata=spec.metadata, status=spec.status,
            ))
        return self.store.save_things(things)

    def view(self, caller: User, thing_id: str) -> Thing:
        return self._authorize(caller, thing_id, _VIEW)

    def list(self, caller: User, query: ListQuery) -> Page[Thing]:
        return self.store.list_things(query, viewer=None if caller.is_admin else caller.id)

    def _change(self, caller: User, thing_id: str, **fields: Any) -> Thing:
        thing = self._authorize(caller, thing_id, _EDIT)
        for key, value in fields.items():
            setattr(thing, key, value)
        thing.updated_at = now()
        return self.store.save_things([thing])[0]

    def update(self, caller: User, thing_id: str, name: str | None, metadata: dict | None) -> Thing:
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = name
        if metadata is not None:
            fields["metadata"] = metadata
        return self._change(caller, thing_id, **fields)

    def update_tags(self, caller: User, thing_id: str, tags: list[str]) -> Thing:
        return self._change(caller, thing_id, tags=tags)

    def update_secret(self, caller: User, thing_id: str, secret: str | None) -> Thing:
        """Set the given key, or a fresh random one (key rotation)."""
        if secret is not None and len(secret) < thing_keys.MIN_KEY_LENGTH:
            raise BadRequest(f"thing secret must be at least {thing_keys.MIN_KEY_LENGTH} characters")
        self._authorize(caller, thing_id, _EDIT)  # someone else's thing: 404 before anything else
        new_key = secret or thing_keys.generate_key()
        holder = self.store.get_thing_by_key(new_key)
        if holder is not None and holder.id != thing_id:
            raise Conflict("this key is already in use")
        return self._change(caller, thing_id, key=new_key)

    def enable(self, caller: User, thing_id: str) -> Thing:
        return self._change(caller, thing_id, status=ENABLED)

    def disable(self, caller: User, thing_id: str) -> Thing:
        return self._change(caller, thing_id, status=DISABLED)

    def delete(self, caller: User, thing_id: str) -> None:
        self._authorize(caller, thing_id, _MANAGE)
        self.store.delete_thing(thing_id)

    def share(self, caller: User, thing_id: str, user_ids: list[str], relation: str) -> None:
        thing = self._authorize(caller, thing_id, _MANAGE)
        self._check_users(user_ids)
        self.store.share_thing(thing.id, [u for u in user_ids if u != thing.owner_id], relation)

    def unshare(self, caller: User, thing_id: str, user_ids: list[str]) -> None:
        self._authorize(caller, thing_id, _MANAGE)
        self.store.unshare_thing(thing_id, user_ids)

    def _check_users(self, user_ids: list[str]) -> None:
        missing = set(user_ids) - self.store.existing_user_ids(user_ids)
        if missing:
            raise NotFound(f"unknown users: {', '.join(sorted(missing))}")

    def list_by_channel(self, caller: User, channel: str, query: ListQuery, connected: bool) -> Page[Thing]:
        return self.store.list_things(query, viewer=None if caller.is_admin else caller.id,
                                      channel_id=channel, connected=connected)

    def authorize_editor(self, caller: User, thing_id: str) -> Thing:
        return self._authorize(caller, thing_id, _EDIT)

    def identify(self, key: str | None) -> Thing:
        """The enabled thing holding `key` (devices authenticate this way)."""
        thing = self.store.get_thing_by_key(key) if key else None
        if thing is None or thing.status != ENABLED:
            raise Unauthenticated("invalid thing key")
        return thing
