"""What moto's CloudFormation cannot create, cut out of a template so the rest can be deployed in moto.

moto skips resource types it has no model for but still fails on any reference to them, so a
template with, say, an RDS Proxy cannot be created there at all. `for_moto` removes the
unsupported resources and replaces each reference to one with a readable stand-in string
(`arn:aws:unsupported:::DbProxy.Endpoint`). The tests name what was cut, and check those resources on
the template itself instead.
"""
from __future__ import annotations

import copy
import re


# Types moto has a model for but cannot create from our template: it does not import a
# RestApi's OpenAPI Body, so the API has no methods and a Deployment of it is refused.
MODELLED_BUT_UNUSABLE = {"AWS::ApiGateway::Deployment"}
# Stand-ins are ARN-shaped, so that IAM policy validation in moto accepts them as resources.
STAND_IN = "arn:aws:unsupported:::"


def supported_types() -> set[str]:
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map()) - MODELLED_BUT_UNUSABLE


def for_moto(template: dict) -> tuple[dict, dict[str, str]]:
    """(template moto can create, {logical id: type} of what was cut)."""
    template = copy.deepcopy(template)
    known = supported_types()
    cut = {k: v["Type"] for k, v in template["Resources"].items() if v["Type"] not in known}
    for logical in cut:
        del template["Resources"][logical]

    def fix(value):
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in cut:
                return f"{STAND_IN}{value['Ref']}"
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in cut:
                return STAND_IN + ".".join(value["Fn::GetAtt"])
            if set(value) == {"Fn::Sub"}:
                body = value["Fn::Sub"]
                if isinstance(body, str):
                    return {"Fn::Sub": _sub_text(body, cut)}
                return {"Fn::Sub": [_sub_text(body[0], cut), fix(body[1])]}
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    for resource in template["Resources"].values():
        if "DependsOn" in resource:
            deps = resource["DependsOn"] if isinstance(resource["DependsOn"], list) else [resource["DependsOn"]]
            deps = [d for d in deps if d not in cut]
            if deps:
                resource["DependsOn"] = deps
            else:
                del resource["DependsOn"]
    for resource in template["Resources"].values():
        # CloudFormation names a RestApi with a Body after its OpenAPI title; moto insists on Name.
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::ApiGateway::RestApi" and "Name" not in props:
            props["Name"] = props.get("Body", {}).get("info", {}).get("title", "api")
    template["Resources"] = fix(template["Resources"])
    template["Outputs"] = fix(template.get("Outputs", {}))
    return template, cut


def _sub_text(text: str, cut: dict) -> str:
    return re.sub(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}",
                  lambda m: f"{STAND_IN}{m.group(1)}{m.group(2) or ''}" if m.group(1) in cut else m.group(0), text)
