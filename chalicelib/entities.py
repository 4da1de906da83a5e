"""The domain: plain data, no database or AWS in sight."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

ENABLED = "enabled"
DISABLED = "disabled"
ADMIN = "admin"
USER = "user"

# Rights a share gives on a thing (Magistrala's relation names).
SHARE_RELATIONS = ("administrator", "editor", "viewer")


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class User:
    id: str
    identity: str
    secret_hash: str
    name: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    role: str = USER
    status: str = ENABLED
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


@dataclass
class Thing:
    id: str
    owner_id: str
    key: str  # plaintext only in memory; stores keep a hash and a ciphertext
    name: str = ""
    identity: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = ENABLED
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Channel:
    id: str
    owner_id: str
    name: str = ""
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = ENABLED
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class Connection:
    channel_id: str
    thing_id: str


@dataclass(frozen=True)
class ListQuery:
    """Paging and filters shared by every list endpoint."""

    offset: int = 0
    limit: int = 10
    name: str | None = None
    identity: str | None = None
    tag: str | None = None
    metadata: dict[str, Any] | None = None
    status: str = ENABLED  # enabled | disabled | all


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    total: int
    offset: int
    limit: int
    items: list[T]
