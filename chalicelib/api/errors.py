"""One place that turns every failure into Magistrala's {"error", "message"} body."""
from __future__ import annotations

import logging

from chalice.app import Response

from chalicelib.errors import PlatformError

log = logging.getLogger("platform.api")

# Chalice's own errors (405, 415, binary checks) come as {"Code", "Message"}.
_CHALICE_CODES = {
    "BadRequestError": "malformed request",
    "BadRequest": "malformed request",
    "UnsupportedMediaType": "unsupported content type",
    "MethodNotAllowedError": "method not allowed",
    "NotFoundError": "entity not found",
    "InternalServerError": "internal error",
}


def error_middleware(event, get_response):
    try:
        response = get_response(event)
    except PlatformError as exc:
        return Response(body={"error": exc.error, "message": exc.message}, status_code=exc.status)
    except Exception:
        log.exception("unhandled error on %s", getattr(event, "path", "?"))
        return Response(body={"error": "internal error", "message": "an internal error occurred"},
                        status_code=500)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        response.body = {
            "error": _CHALICE_CODES.get(body["Code"], "request failed"),
            "message": body.get("Message", ""),
        }
    return response


def cors_middleware(cors):
    """Add the CORS headers to every response, errors included: Chalice adds them only to
    successful view responses, and a browser cannot read an error without them."""
    headers = cors.get_access_control_headers()

    def add_cors(event, get_response):
        response = get_response(event)
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        return response

    return add_cors
