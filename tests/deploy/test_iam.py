"""Every function's policy allows what its code calls, and nothing broader."""
from __future__ import annotations

import json

import pytest

from deploy import iam
from deploy.project import FUNCTIONS, ROLES, stage_names
from tests.deploy.helpers import actions, resources, statements_for_role, template


def test_the_code_and_the_declared_needs_agree():
    assert iam.mismatches() == []


def test_the_scanner_sees_clients_resources_and_batch_helpers():
    source = '''
import boto3
class Q:
    def __init__(self):
        self.sqs = boto3.client("sqs")
        self.table = boto3.resource("dynamodb").Table("t")
    def go(self):
        self.sqs.send_message_batch(QueueUrl="u", Entries=[])
        with self.table.batch_writer() as b:
            b.put_item(Item={})
        call(self.table.get_item, Key={})
'''
    assert iam.scan_source(source) == {"sqs:SendMessage", "dynamodb:BatchWriteItem", "dynamodb:PutItem",
                                       "dynamodb:GetItem"}
    assert iam.scan_source("import boto3\nboto3.client('iot-data').publish(topic='t')\n") == {"iot:Publish"}
    assert iam.scan_source("def publish(): pass\npublish()\n") == set()


@pytest.mark.parametrize("stage_name", stage_names())
def test_policy_files_name_only_their_own_stage(stage_name):
    from deploy.project import load_stage

    stage = load_stage(stage_name)
    others = [s for s in stage_names() if s != stage_name]
    for function in FUNCTIONS:
        path = stage.policy_file(function)
        assert path.name == f"policy-{stage_name}-{function}.json"
        text = path.read_text()
        for other in others:
            assert f"-{other}-" not in text and f"/{other}/" not in text, f"{path.name} names stage {other}"


@pytest.fixture(params=["dev", "prod"])
def deployed(request):
    stage, _ = request.getfixturevalue(f"{request.param}_build")
    return stage, template(stage)


def test_each_role_allows_exactly_what_its_function_needs(deployed):
    _, tpl = deployed
    for function, role in ROLES.items():
        granted = actions(statements_for_role(tpl, role))
        needed = iam.required_actions(function)
        assert granted == needed, (f"{function}: granted but not needed {sorted(granted - needed)}, "
                                   f"needed but not granted {sorted(needed - granted)}")


def _is_data_action(action: str) -> bool:
    return action.split(":")[0] in iam.DATA_SERVICES


def test_no_wildcard_actions_and_no_star_on_data(deployed):
    stage, tpl = deployed
    for role in ROLES.values():
        for statement in statements_for_role(tpl, role):
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in listed:
                assert "*" not in action, f"{role}: wildcard action {action}"
            for resource in resources(statement):
                if resource == "*":
                    assert set(listed) <= iam.STAR_ONLY, f"{role}: {listed} on Resource '*'"
                    continue
                text = json.dumps(resource)
                assert ":*:*:" not in text, f"{role}: {text} is not pinned to the stack's account and region"
                if any(_is_data_action(a) for a in listed):
                    scoped = (stage.prefix in text or f"choovio-iot/{stage.name}/" in text
                              or text.endswith(("thing/*\"}", "cert/*\"}", "topic/channels/*\"}"))
                              or "\"Ref\"" in text or "ExistingDbSecretName" in text
                              or "identity/${MailFrom}" in text or "identity/${Domain}" in text)
                    assert scoped, f"{role}: {listed} on {text}, which is not one of the stage's resources"


def test_secret_reads_are_limited_to_the_stage_secrets(deployed):
    stage, tpl = deployed
    for role in ROLES.values():
        for statement in statements_for_role(tpl, role):
            if "secretsmanager:GetSecretValue" in actions([statement]):
                for resource in resources(statement):
                    text = json.dumps(resource)
                    assert f"choovio-iot/{stage.name}/" in text or "DbSecret" in text \
                        or "ExistingDbSecretName" in text, text


def test_each_event_source_polls_with_its_own_queue_only(deployed):
    stage, tpl = deployed
    poll = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    for function, queue in (("ingest", stage.ingest_queue), ("retry", stage.retry_queue)):
        polling = [s for s in statements_for_role(tpl, ROLES[function]) if actions([s]) & poll]
        assert polling and all(actions([s]) >= poll for s in polling), function
        assert {json.dumps(r) for s in polling for r in resources(s)} == {json.dumps(
            {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue}"})}, function
