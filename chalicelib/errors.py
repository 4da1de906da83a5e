"""Errors the services raise; the HTTP layer maps each to a status and a JSON body.

They derive from Chalice's ChaliceUnhandledError only so that Chalice lets them
reach our error middleware instead of turning them into a bare 500; nothing
else here knows about HTTP.
"""
from __future__ import annotations

from chalice.app import ChaliceUnhandledError


class PlatformError(ChaliceUnhandledError):
    status = 500
    error = "internal error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.error)
        self.message = message or self.error


class BadRequest(PlatformError):
    status = 400
    error = "malformed request"


class Unauthenticated(PlatformError):
    status = 401
    error = "missing or invalid credentials"


class Forbidden(PlatformError):
    status = 403
    error = "not allowed"


class NotFound(PlatformError):
    status = 404
    error = "entity not found"


class Conflict(PlatformError):
    status = 409
    error = "entity already exists"


class PayloadTooLarge(PlatformError):
    status = 413
    error = "request body too large"


class UnsupportedMediaType(PlatformError):
    status = 415
    error = "unsupported content type"


class Unavailable(PlatformError):
    status = 503
    error = "service unavailable"


class Unstorable(BadRequest):
    """The store refused what the data holds (beyond one of its limits), not because it is down."""

    error = "cannot be stored"


class ConfigError(RuntimeError):
    """The deployment is misconfigured (missing secret, bad URL)."""
