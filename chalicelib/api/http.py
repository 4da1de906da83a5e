"""Request decoding shared by every route: body, query, identity of the caller."""
from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.entities import ListQuery
from chalicelib.errors import BadRequest, PayloadTooLarge, Unauthenticated, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

MAX_LIMIT = 100
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def json_body(request: Any, max_bytes: int) -> Any:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"body is larger than {max_bytes} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not valid JSON") from None


def parse(model: type[M], request: Any, max_bytes: int) -> M:
    data = json_body(request, max_bytes)
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from None


def uuid_param(value: str, what: str = "id") -> str:
    if not _UUID.match(value or ""):
        raise BadRequest(f"{what} must be a UUID")
    return value.lower()


def _int(params: dict, name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"{name} must be {bound}")
    return value


def int_param(params: dict, name: str, default: int, low: int, high: int | None = None) -> int:
    return _int(params, name, default, low, high)


def bool_param(params: dict, name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise BadRequest(f"{name} must be true or false")


def list_query(params: dict | None) -> ListQuery:
    params = params or {}
    status = params.get("status") or "enabled"
    if status not in ("enabled", "disabled", "all"):
        raise BadRequest("status must be enabled, disabled or all")
    metadata = None
    if params.get("metadata"):
        try:
            metadata = json.loads(params["metadata"])
        except ValueError:
            raise BadRequest("metadata must be a JSON object") from None
        if not isinstance(metadata, dict):
            raise BadRequest("metadata must be a JSON object")
    return ListQuery(
        offset=_int(params, "offset", 0, 0, None),
        limit=_int(params, "limit", 10, 1, MAX_LIMIT),
        name=params.get("name") or None,
        identity=params.get("identity") or None,
        tag=params.get("tag") or params.get("tags") or None,
        metadata=metadata,
        status=status,
    )


def bearer_token(request: Any) -> str:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send 'Authorization: Bearer <access token>'")
    return token.strip()
