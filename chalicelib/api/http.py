"""Request decoding shared by every route: body, query, identity of the caller."""
from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib import query_params
from chalicelib.entities import ListQuery
from chalicelib.errors import BadRequest, PayloadTooLarge, Unauthenticated, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

MAX_LIMIT = 100
MAX_OFFSET = 2**63 - 1  # PostgreSQL's OFFSET is a bigint
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
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("body is not valid JSON") from None
    _check_strings(data)
    return data


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259) and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def _check_strings(data: Any) -> None:
    """PostgreSQL text and jsonb hold neither NUL nor lone surrogates (\\ud800): refuse them (400, not 500)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadRequest("strings must not contain NUL characters")
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise BadRequest("strings must be valid Unicode (no lone surrogates)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


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


def _no_nul(params: dict) -> None:
    for name in params:
        if "\x00" in name or "\x00" in (params.get(name) or ""):
            raise BadRequest(f"query parameter {name!r} must not contain NUL characters")


def list_query(params: dict | None) -> ListQuery:
    params = params or {}
    _no_nul(params)
    status = params.get("status") or "enabled"
    if status not in ("enabled", "disabled", "all"):
        raise BadRequest("status must be enabled, disabled or all")
    metadata = None
    if params.get("metadata"):
        try:
            metadata = json.loads(params["metadata"], parse_constant=_reject_constant, parse_float=_finite_float)
        except (ValueError, RecursionError):
            raise BadRequest("metadata must be a JSON object") from None
        if not isinstance(metadata, dict):
            raise BadRequest("metadata must be a JSON object")
        _check_strings(metadata)
    return ListQuery(
        offset=query_params.integer(params, "offset", 0, 0, MAX_OFFSET),
        limit=query_params.integer(params, "limit", 10, 1, MAX_LIMIT),
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
