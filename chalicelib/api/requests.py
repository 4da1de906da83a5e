"""Request bodies as pydantic models: wrong types and missing fields become 400s."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Text = Annotated[str, StringConstraints(max_length=1024)]
Name = Annotated[str, StringConstraints(max_length=1024, strip_whitespace=True)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")]
Status = Annotated[str, StringConstraints(pattern=r"^(enabled|disabled)$")]


class _Body(BaseModel):
    # Unknown fields are ignored, as Magistrala does; known ones must have the right type.
    model_config = ConfigDict(extra="ignore", strict=True)


class Credentials(_Body):
    identity: Text = ""
    secret: Text | None = None


class UserCredentials(_Body):
    identity: Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    secret: Text


class CreateUser(_Body):
    name: Name = ""
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    credentials: UserCredentials
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Status = "enabled"


class IssueToken(_Body):
    identity: Text
    secret: Text


class UpdateEntity(_Body):
    name: Name | None = None
    description: Text | None = None
    metadata: dict[str, Any] | None = None


class UpdateTags(_Body):
    tags: list[Tag] = Field(max_length=64)


class UpdateIdentity(_Body):
    identity: Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class UpdateSecret(_Body):
    old_secret: Text
    new_secret: Text


class UpdateRole(_Body):
    role: Annotated[str, StringConstraints(pattern=r"^(admin|user)$")]


class ResetRequest(_Body):
    email: Text


class PasswordReset(_Body):
    token: Annotated[str, StringConstraints(max_length=4096)]
    password: Text
    confirm_password: Text


class CreateThing(_Body):
    id: Uuid | None = None
    name: Name = ""
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    credentials: Credentials = Field(default_factory=Credentials)
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Status = "enabled"


class ThingSecret(_Body):
    secret: Text | None = None


class Share(_Body):
    user_ids: list[Uuid] = Field(min_length=1, max_length=100)
    relation: str | list[str] = "editor"

    @field_validator("relation")
    @classmethod
    def _one_relation(cls, value: str | list[str]) -> str:
        # The spec sends a list, Magistrala's SDK a string; we keep the strongest one given.
        given = [value] if isinstance(value, str) else value
        for relation in ("administrator", "editor", "viewer"):
            if relation in given:
                return relation
        raise ValueError("relation must be one of administrator, editor, viewer")


class Unshare(_Body):
    user_ids: list[Uuid] = Field(min_length=1, max_length=100)


class CreateChannel(_Body):
    id: Uuid | None = None
    name: Name = ""
    description: Text = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Status = "enabled"


class Connect(_Body):
    """Every connection body Magistrala clients send: single ids, id lists, or subjects/objects."""

    thing_id: Uuid | None = None
    channel_id: Uuid | None = None
    thing_ids: list[Uuid] = Field(default_factory=list, max_length=100)
    channel_ids: list[Uuid] = Field(default_factory=list, max_length=100)
    subjects: list[Uuid] = Field(default_factory=list, max_length=100)
    objects: list[Uuid] = Field(default_factory=list, max_length=100)

    def pairs(self) -> list[tuple[str, str]]:
        things = [*([self.thing_id] if self.thing_id else []), *self.thing_ids, *self.subjects]
        channels = [*([self.channel_id] if self.channel_id else []), *self.channel_ids, *self.objects]
        return [(c, t) for c in dict.fromkeys(channels) for t in dict.fromkeys(things)]
