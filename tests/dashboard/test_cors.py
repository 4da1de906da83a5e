"""The dashboard runs on another origin than the API (S3 vs API Gateway; :8080 vs :8000 locally),
so every route, and every error, must carry the CORS headers. Found gaps are patched for the other
browser tests (conftest.cors_gaps) and reported here as expected failures until the app is fixed."""
from __future__ import annotations

import pytest


def test_every_route_allows_the_dashboard_origin(cors_gaps):
    if cors_gaps.routes_without_cors:
        pytest.xfail("routes registered before app.api.cors is set have no CORS (in app.py, set app.api.cors "
                     f"before app.register_blueprint): {', '.join(cors_gaps.routes_without_cors)}")


def test_api_errors_are_readable_cross_origin(cors_gaps):
    if cors_gaps.errors_without_cors:
        pytest.xfail("responses built by chalicelib.api.errors.error_middleware carry no CORS headers, so the "
                     "browser hides every 4xx/5xx body from the dashboard")


def test_preflight_and_answers_carry_cors_headers(stack, api, user):
    email, _ = user
    token = api.login(email)
    channel = api.channel(token, "c")
    origin = {"Origin": "http://127.0.0.1:1"}
    for path in ("/things", f"/channels/{channel['id']}/messages", "/users/profile"):
        pre = api.call("OPTIONS", path, headers={**origin, "Access-Control-Request-Method": "GET",
                                                "Access-Control-Request-Headers": "authorization"})
        assert pre.headers.get("Access-Control-Allow-Origin") == "*", path
        assert "authorization" in pre.headers.get("Access-Control-Allow-Headers", "").lower(), path
        assert api.call("GET", path, token, headers=origin).headers.get("Access-Control-Allow-Origin") == "*", path
    wrong = api.call("POST", "/users/tokens/issue", json={"identity": email, "secret": "nope-nope-nope"}, headers=origin)
    assert wrong.status_code == 401 and wrong.headers.get("Access-Control-Allow-Origin") == "*"
