"""iot_rules/*.json -> AWS::IoT::TopicRule, in either key style, placeholders -> references."""
from __future__ import annotations

import json

import pytest

from deploy import rules as iot_rules
from deploy import template as tmpl
from deploy.project import load_stage
from tests.deploy.conftest import FIXTURES


def test_both_key_styles_become_cloudformation():
    loaded = {r.name: r for r in iot_rules.load_rules(FIXTURES / "iot_rules")}
    api = loaded["fixture_api_style"]
    assert api.payload["Actions"] == [{"Sqs": {"QueueUrl": "${IngestQueueUrl}", "RoleArn": "${IotRuleRoleArn}",
                                               "UseBase64": False}}]
    assert api.payload["ErrorAction"]["CloudwatchLogs"]["LogGroupName"] == "${IotErrorLogGroupName}"
    assert api.needs == {"ingest-queue", "log-group", "role"}
    assert loaded["fixture-cfn-style"].needs == {"ingest-queue", "dead-letter-queue", "role"}
    assert iot_rules.rule_name(loaded["fixture-cfn-style"], "prod") == "fixture_cfn_style_prod"


def test_the_rule_role_allows_only_what_the_rules_use():
    stage = load_stage("dev")
    resources = tmpl.iot(stage, iot_rules.load_rules(FIXTURES / "iot_rules"))
    rule = resources["IotRuleFixtureApiStyle"]["Properties"]["TopicRulePayload"]
    assert rule["Actions"][0]["Sqs"]["QueueUrl"] == {"Fn::Sub": "${IngestQueue}"}
    assert rule["ErrorAction"]["CloudwatchLogs"] == {"LogGroupName": {"Fn::Sub": "${IotRuleErrorLogGroup}"},
                                                     "RoleArn": {"Fn::Sub": "${IotRuleActionRole.Arn}"}}
    statements = resources["IotRuleActionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("sqs:SendMessage", [{"Fn::GetAtt": ["IngestQueue", "Arn"]}, {"Fn::GetAtt": ["RetryDeadLetterQueue", "Arn"]}]),
        (["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": ["IotRuleErrorLogGroup", "Arn"]})]
    assert "IotRuleErrorLogGroup" in resources
    # Rules reach ingest through its queue only: nothing may invoke the function on their behalf.
    assert not [k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Permission"
                and v["Properties"]["FunctionName"] == {"Ref": "Ingest"}]


def test_the_retired_function_placeholder_is_refused(tmp_path):
    # Rules used to invoke ingest directly; such a rule would now have no permission to do it.
    (tmp_path / "old.json").write_text(json.dumps({"ruleName": "r", "topicRulePayload": {
        "sql": "SELECT * FROM 't'", "actions": [{"lambda": {"functionArn": "${IngestFunctionArn}"}}]}}))
    with pytest.raises(SystemExit, match="IngestFunctionArn"):
        iot_rules.load_rules(tmp_path)


def test_an_unknown_placeholder_stops_the_build(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"ruleName": "r", "topicRulePayload": {
        "sql": "SELECT * FROM 't'", "actions": [{"lambda": {"functionArn": "${SomethingElse}"}}]}}))
    with pytest.raises(SystemExit, match="SomethingElse"):
        iot_rules.load_rules(tmp_path)
