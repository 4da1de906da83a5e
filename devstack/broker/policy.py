"""Evaluate IoT Core policy documents the way IoT Core does (the subset our policies use).

An action on a resource is allowed when some Allow statement matches it and no Deny
statement does. `*` and `?` are wildcards in actions and resources; `${iot:ClientId}` and
`${iot:Connection.Thing.ThingName}` are substituted per connection.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass


def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


@dataclass
class _Statement:
    allow: bool
    actions: list[re.Pattern[str]]
    resources: list[re.Pattern[str]]

    def matches(self, action: str, resource: str) -> bool:
        return any(a.match(action) for a in self.actions) and any(r.match(resource) for r in self.resources)


class PolicySet:
    def __init__(self, documents: list[dict | str], variables: dict[str, str] | None = None) -> None:
        self.statements: list[_Statement] = []
        for doc in documents:
            doc = json.loads(doc) if isinstance(doc, str) else doc
            statements = doc.get("Statement") or []
            for st in [statements] if isinstance(statements, dict) else statements:
                resources = []
                for res in _as_list(st.get("Resource")):
                    for name, value in (variables or {}).items():
                        res = res.replace("${" + name + "}", value)
                    resources.append(_glob(res))
                self.statements.append(_Statement(
                    allow=st.get("Effect") == "Allow",
                    actions=[_glob(a) for a in _as_list(st.get("Action"))],
                    resources=resources,
                ))

    def allows(self, action: str, resource: str) -> bool:
        hits = [s for s in self.statements if s.matches(action, resource)]
        return any(s.allow for s in hits) and not any(not s.allow for s in hits)
