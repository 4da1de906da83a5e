"""Entities as Magistrala v0.14.0 shapes them on the wire."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.entities import Channel, Page, Thing, User


def timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "name": u.name,
        "tags": u.tags,
        "credentials": {"identity": u.identity},
        "metadata": u.metadata,
        "role": u.role,
        "status": u.status,
        "created_at": timestamp(u.created_at),
        "updated_at": timestamp(u.updated_at),
    }


def thing(t: Thing) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "tags": t.tags,
        "owner_id": t.owner_id,
        "credentials": {"identity": t.identity, "secret": t.key},
        "metadata": t.metadata,
        "status": t.status,
        "created_at": timestamp(t.created_at),
        "updated_at": timestamp(t.updated_at),
    }


def channel(c: Channel) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "owner_id": c.owner_id,
        "metadata": c.metadata,
        "status": c.status,
        "created_at": timestamp(c.created_at),
        "updated_at": timestamp(c.updated_at),
    }


def page(p: Page, key: str, encode: Callable[[Any], dict]) -> dict[str, Any]:
    return {"total": p.total, "offset": p.offset, "limit": p.limit, key: [encode(i) for i in p.items]}


def error(status: int, error: str, message: str) -> dict[str, Any]:
    return {"error": error, "message": message}
