"""Assertions shared by the API tests."""
from __future__ import annotations

import json


def assert_error(response, status: int) -> dict:
    """The status is as expected and the body is exactly Magistrala's {"error", "message"}."""
    assert response.status_code == status, (response.status_code, response.body[:500])
    body = json.loads(response.body)
    assert set(body) == {"error", "message"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str)
    return body
