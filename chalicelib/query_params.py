"""Query-string values, one way for every route: absent or empty means "not given", anything
that does not parse is a 400 naming the parameter."""
from __future__ import annotations

import math

from chalicelib.errors import BadRequest

# Go's strconv.ParseBool (what Magistrala accepts), case-insensitive.
_TRUE = ("1", "t", "true")
_FALSE = ("0", "f", "false")


def text(params: dict, name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def number(params: dict, name: str, default: float | None = None) -> float | None:
    raw = text(params, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number")
    return value


def integer(params: dict, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = text(params, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name} must be between {low} and {high}" if high is not None
                         else f"{name} must be at least {low}")
    return value


def boolean(params: dict, name: str, default: bool | None = None) -> bool | None:
    raw = text(params, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false")
