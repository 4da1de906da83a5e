"""Reading the packaged CloudFormation template in tests."""
from __future__ import annotations

import json

from deploy.project import FUNCTIONS, ROLES


def template(stage) -> dict:
    return json.loads((stage.build_dir / "template.json").read_text())


def of_type(tpl: dict, kind: str) -> dict:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == kind}


def statements_for_role(tpl: dict, role: str) -> list[dict]:
    """Every Allow statement a role gets: its inline policies and AWS::IAM::Policy resources naming it."""
    found = []
    for policy in tpl["Resources"][role]["Properties"].get("Policies", []):
        found += policy["PolicyDocument"]["Statement"]
    for resource in of_type(tpl, "AWS::IAM::Policy").values():
        if {"Ref": role} in resource["Properties"]["Roles"]:
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    return [s for s in found if s.get("Effect") == "Allow"]


def actions(statements: list[dict]) -> set[str]:
    out = set()
    for s in statements:
        out |= {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
    return out


def resources(statement: dict) -> list:
    listed = statement["Resource"]
    return listed if isinstance(listed, list) else [listed]


def function_roles() -> dict[str, str]:
    return dict(ROLES)


def function_ids() -> dict[str, str]:
    return dict(FUNCTIONS)
