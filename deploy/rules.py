"""IoT topic rules: iot_rules/*.json -> AWS::IoT::TopicRule resources.

A rule file holds what `aws iot create-topic-rule` takes (ruleName + topicRulePayload, in the
API's camelCase or CloudFormation's PascalCase), with `${Placeholder}` strings where a stack
resource goes. Placeholders become CloudFormation references (PLACEHOLDERS); an unknown one
stops the build with the list of known ones.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from deploy.project import ROOT

# placeholder -> (the Fn::Sub expression it stands for, what the rule then needs from the stack)
# (Rules reach the ingest Lambda only through the ingest queue: there is no function placeholder.)
PLACEHOLDERS = {
    "IngestQueueUrl": ("${IngestQueue}", "ingest-queue"),
    "IngestQueueArn": ("${IngestQueue.Arn}", "ingest-queue"),
    "RetryQueueUrl": ("${RetryQueue}", "retry-queue"),
    "RetryQueueArn": ("${RetryQueue.Arn}", "retry-queue"),
    "DeadLetterQueueUrl": ("${RetryDeadLetterQueue}", "dead-letter-queue"),
    "DeadLetterQueueArn": ("${RetryDeadLetterQueue.Arn}", "dead-letter-queue"),
    "IotRuleRoleArn": ("${IotRuleActionRole.Arn}", "role"),
    "IotErrorLogGroupName": ("${IotRuleErrorLogGroup}", "log-group"),
}
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_PSEUDO = ("AWS::",)


@dataclass(frozen=True)
class Rule:
    name: str          # as in the file
    file: Path
    payload: dict      # CloudFormation TopicRulePayload, placeholders still in
    needs: frozenset   # what the placeholders it uses ask of the stack

    @property
    def sql(self) -> str:
        return self.payload["Sql"]

    def logical_id(self) -> str:
        return "IotRule" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", self.name) if part)


def _pascal(value):
    """camelCase API keys -> CloudFormation PascalCase keys, recursively (PascalCase stays as it is)."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]): _pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal(v) for v in value]
    return value


def _placeholders(value) -> set[str]:
    if isinstance(value, dict):
        return set().union(set(), *(_placeholders(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(set(), *(_placeholders(v) for v in value))
    if isinstance(value, str):
        return {m for m in _PLACEHOLDER.findall(value) if not m.startswith(_PSEUDO)}
    return set()


def load_rules(directory: Path | None = None) -> list[Rule]:
    directory = directory or ROOT / "iot_rules"
    rules = []
    for path in sorted(directory.glob("*.json")):
        raw = _pascal(json.loads(path.read_text()))
        name, payload = raw.get("RuleName"), raw.get("TopicRulePayload")
        if not name or not isinstance(payload, dict) or "Sql" not in payload:
            raise SystemExit(f"{path}: a rule file needs ruleName and topicRulePayload with sql")
        unknown = _placeholders(raw) - set(PLACEHOLDERS)
        if unknown:
            raise SystemExit(f"{path}: unknown placeholder(s) {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}")
        needs = frozenset(PLACEHOLDERS[p][1] for p in _placeholders(raw))
        rules.append(Rule(name=name, file=path, payload=payload, needs=needs))
    return rules


def resolve(value):
    """Placeholders -> Fn::Sub of the stack resources they name."""
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if isinstance(value, str) and _placeholders(value):
        return {"Fn::Sub": _PLACEHOLDER.sub(
            lambda m: PLACEHOLDERS[m.group(1)][0] if m.group(1) in PLACEHOLDERS else m.group(0), value)}
    return value


def rule_name(rule: Rule, stage: str) -> str:
    """Topic rule names are unique per account and region: the stage is part of them."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{rule.name}_{stage}")
