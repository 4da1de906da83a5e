"""Who calls what: the AWS actions each Lambda function needs, traced to the code that needs them.

The policy files in .chalice/ are written by hand; this module is how a test (and
`python -m deploy package`) proves them right in both directions:

- `scan()` reads chalicelib/ and finds every AWS operation the code can call (a boto3
  client or resource created in a module, then one of that service's operations used there);
- `CODE_PATHS` says, per module, which function runs which of those operations;
- `IMPLICIT` lists what a function needs without calling it itself (logs, VPC network
  interfaces, the SQS event sources, secrets);
- `required_actions(fn)` is the union, and a function's policy must allow exactly that.

A new boto3 call in chalicelib/ that nobody declared here fails the check with the
module, the operation and the file to edit.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from deploy.project import FUNCTIONS, ROOT

ALL = tuple(FUNCTIONS)
DDB_READ = {"dynamodb:GetItem", "dynamodb:Query"}
DDB_WRITE = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
IOT_REGISTRY = {
    "iot:RegisterCertificate", "iot:CreateKeysAndCertificate", "iot:CreateThing", "iot:AttachThingPrincipal",
    "iot:DetachThingPrincipal", "iot:UpdateCertificate", "iot:ListAttachedPolicies", "iot:AttachPolicy",
    "iot:DetachPolicy", "iot:CreatePolicy", "iot:GetPolicy", "iot:ListPolicyVersions", "iot:CreatePolicyVersion",
    "iot:DeletePolicyVersion", "iot:ListTargetsForPolicy", "iot:DeletePolicy", "iot:DescribeEndpoint",
}

# module (relative to the project) -> function -> the actions that function reaches through it.
CODE_PATHS: dict[str, dict[str, set[str]]] = {
    # Every function builds its settings, which read the stage's secrets (JWT_SECRET_ARN,
    # DATA_KEY_ARN, DB_SECRET_ARN); settings() needs both keys even where only the DB is used.
    "chalicelib/config.py": {fn: {"secretsmanager:GetSecretValue"} for fn in ALL},
    # The backup mirror: API writes (entities), ingestion (directory fallback + message rows),
    # replays (entity sync + message rows). The authorizer and migrate never touch it.
    "chalicelib/backup/dynamo.py": {
        # + Scan: the admin verify/repair route (backup/verify.py) walks the whole table.
        "api_handler": DDB_READ | DDB_WRITE | {"dynamodb:Scan"},
        "ingest": {"dynamodb:GetItem", "dynamodb:BatchWriteItem"},
        "retry": DDB_READ | DDB_WRITE,
    },
    # Degraded reads while PostgreSQL is down (readers API).
    "chalicelib/backup/dynamo_reader.py": {"api_handler": set(DDB_READ)},
    # What one store missed goes on the retry queue (SendMessageBatch is authorised as SendMessage).
    "chalicelib/backup/retry_queue.py": {fn: {"sqs:SendMessage"} for fn in ("api_handler", "ingest", "retry")},
    # Backup health for administrators: queue depths, peek at and redrive dead letters.
    "chalicelib/backup/dead_letters.py": {"api_handler": {
        "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"}},
    # HTTP publish forwards to MQTT subscribers.
    "chalicelib/messages/forward.py": {"api_handler": {"iot:Publish"}},
    # Device certificates and per-thing IoT policies (API routes).
    "chalicelib/iot/devices.py": {"api_handler": set(IOT_REGISTRY)},
    # Password-reset mail when MAIL_SENDER=ses (granted by the stack only when MailFrom is set).
    "chalicelib/mail.py": {"api_handler": {"ses:SendEmail"}},
}

# Operations present in chalicelib/ that no Lambda function runs, and why.
OUTSIDE_LAMBDA: dict[str, dict[str, str]] = {}

_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
_VPC = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
# Needed by the Lambda service on the function's behalf, not by a line of our code.
IMPLICIT: dict[str, dict[str, str]] = {
    fn: {**{a: "its own log group (the stack creates it, so no CreateLogGroup)" for a in _LOGS},
         **{a: "network interfaces in the VPC that reaches PostgreSQL (these EC2 actions take no resource ARN)"
            for a in _VPC}}
    for fn in ALL
}
for fn in ("retry", "ingest"):  # each polls its own queue (the retry queue, the ingest queue)
    IMPLICIT[fn].update({a: f"the SQS event source mapping polls the {fn} queue with the function's role"
                         for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")})

# Actions AWS authorises only against Resource "*" (no resource-level permissions exist for them).
STAR_ONLY = _VPC | {"iot:CreateKeysAndCertificate", "iot:RegisterCertificate", "iot:DescribeEndpoint"}
# Services whose resources hold data: no statement may grant them on "*" or with a wildcard action.
DATA_SERVICES = {"dynamodb", "sqs", "s3", "secretsmanager", "ssm", "kms", "iot", "ses"}

# boto3 operation -> IAM action, where they differ.
_ACTION_ALIASES = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_SERVICE_PREFIX = {"iot-data": "iot"}
# Helpers of boto3 resources that stand for an operation.
_RESOURCE_HELPERS = {"dynamodb": {"batch_writer": "BatchWriteItem"}}


def required_actions(function: str) -> set[str]:
    actions = set(IMPLICIT.get(function, {}))
    for per_function in CODE_PATHS.values():
        actions |= per_function.get(function, set())
    return actions


@lru_cache(maxsize=None)
def _operations(service: str) -> dict[str, str]:
    """snake_case method name -> OperationName, from botocore's own service model."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def _services_created(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0]
        if name in ("client", "resource") and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.add(first.value)
    return found


def scan_source(source: str) -> set[str]:
    """IAM actions (service:Action) the code in one module can call."""
    tree = ast.parse(source)
    services = _services_created(tree)
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    actions = set()
    for service in services:
        prefix = _SERVICE_PREFIX.get(service, service)
        ops = dict(_operations(service))
        ops.update(_RESOURCE_HELPERS.get(service, {}))
        for method in used & set(ops):
            action = f"{prefix}:{ops[method]}"
            actions.add(_ACTION_ALIASES.get(action, action))
    return actions


def scan(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> actions, for every module of chalicelib/ that calls AWS."""
    found = {}
    for path in sorted((root / "chalicelib").rglob("*.py")):
        actions = scan_source(path.read_text())
        if actions:
            found[path.relative_to(root).as_posix()] = actions
    return found


def mismatches(root: Path = ROOT) -> list[str]:
    """Where CODE_PATHS/OUTSIDE_LAMBDA and the code disagree, either way (empty when all is well)."""
    problems = []
    found = scan(root)
    for module in sorted(set(found) | set(CODE_PATHS) | set(OUTSIDE_LAMBDA)):
        actions = found.get(module, set())
        declared = set().union(*CODE_PATHS.get(module, {}).values()) | set(OUTSIDE_LAMBDA.get(module, {}))
        for action in sorted(actions - declared):
            problems.append(f"{module} calls {action}, which no function is declared to run: say which "
                            "functions do in deploy/iam.py CODE_PATHS and allow it in their .chalice/policy-* files")
        for action in sorted(declared - actions):
            problems.append(f"deploy/iam.py declares {action} for {module}, which no longer calls it: "
                            "drop it there and from the .chalice/policy-* files")
    return problems


def policy_actions(document: dict) -> set[str]:
    actions = set()
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        listed = statement.get("Action", [])
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions
