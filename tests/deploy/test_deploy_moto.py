"""`make deploy` / `make teardown` against moto, end to end, with the real packaged template.

What moto cannot model, and where it is tested instead:
- CloudFormation resource types moto has no model for (RDS Proxy and Aurora, Secrets Manager,
  IoT topic rules and authorizer, CloudFront, CloudWatch alarms, S3 bucket
  policy, SNS subscriptions) nor an API Gateway deployment of an OpenAPI body: cut from the
  template by tests/deploy/motoshim.py, named in CUT_BY_MOTO below, and asserted on the template
  in test_template.py;
- running Lambda code (no Docker): the `migrate` invoke is answered at the botocore boundary
  (`before-call` hook) after checking what the deploy command sent, and the handler's own work
  (applying migrations/) is tested by the store tests against a real PostgreSQL.
"""
from __future__ import annotations

import ast
import copy
import io
import json
import shutil

import boto3
import pytest
from botocore.response import StreamingBody

from deploy import stack
from deploy.project import Stage
from tests.deploy.motoshim import for_moto

CUT_BY_MOTO = {
    "AWS::RDS::DBProxy", "AWS::RDS::DBProxyTargetGroup", "AWS::RDS::DBCluster",
    "AWS::SecretsManager::Secret", "AWS::SecretsManager::SecretTargetAttachment",
    "AWS::IoT::TopicRule", "AWS::IoT::Authorizer",
    "AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy", "AWS::CloudWatch::Alarm", "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage",
}


class _Http:
    status_code = 200
    headers: dict = {}


def _answer_invokes(session, calls, payload=b'{"applied": ["001_core.sql", "002_messages.sql"]}',
                    error=None):
    """Lambda cannot run in moto: record each Invoke and answer it as the real service would."""
    def handler(params, model, **_):
        calls.append(json.loads(json.dumps(params["url_path"] and {
            "path": params["url_path"], "headers": dict(params["headers"]), "body": params["body"].decode()
            if isinstance(params["body"], bytes) else params["body"]})))
        parsed = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
        if error:
            parsed["FunctionError"] = error
        return _Http(), parsed

    session.events.register("before-call.lambda.Invoke", handler)


@pytest.fixture
def moto_stage(aws, dev_build, tmp_path):
    """The dev stage in a moto account: a VPC of its own, the packaged zip, the template minus what moto lacks."""
    built, _ = dev_build
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    group = ec2.create_security_group(GroupName="functions", Description="functions", VpcId=vpc)["GroupId"]
    chalice = copy.deepcopy(built.chalice)
    chalice["stages"]["dev"].update(subnet_ids=subnets, security_group_ids=[group])
    stage = Stage(name="dev", region="us-east-1", chalice=chalice, parameters=dict(built.parameters), root=tmp_path)
    stage.build_dir.mkdir(parents=True)
    shutil.copy(built.build_dir / "deployment.zip", stage.build_dir / "deployment.zip")
    template, cut = for_moto(json.loads((built.build_dir / "template.json").read_text()))
    (stage.build_dir / "template.json").write_text(json.dumps(template))
    return stage, {"vpc": vpc, "subnets": subnets, "group": group, "cut": cut}


def test_moto_gaps_are_the_known_ones(moto_stage):
    _, env = moto_stage
    assert set(env["cut"].values()) <= CUT_BY_MOTO, "moto models more now: move those checks into this test"


def test_deploy_then_teardown_end_to_end(moto_stage, monkeypatch):
    stage, env = moto_stage
    session = boto3.Session(region_name="us-east-1")
    calls: list = []
    _answer_invokes(session, calls)
    lines: list[str] = []
    # CloudFront is cut from moto's stack: serve the dashboard as a website here (tested separately below).
    outputs = stack.deploy(stage, package=False, session=session, log=lines.append, delay=1,
                           overrides={"DashboardHosting": "website", "AlarmEmail": "ops@example.com"})

    cfn = session.client("cloudformation")
    described = cfn.describe_stacks(StackName="choovio-iot-dev")["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    # moto echoes list parameters as Python lists; CloudFormation as comma-joined text.
    params = {p["ParameterKey"]: ",".join(ast.literal_eval(p["ParameterValue"]))
              if p["ParameterValue"].startswith("[") else p["ParameterValue"] for p in described["Parameters"]}
    assert params["VpcId"] == env["vpc"] and params["SubnetIds"] == ",".join(env["subnets"])
    assert params["LambdaSecurityGroupIds"] == env["group"]
    assert params["IotDataEndpoint"].endswith("-ats.iot.us-east-1.amazonaws.com")  # moto makes up a new one per call
    assert params["DatabaseMode"] == "rds" and params["AlarmEmail"] == "ops@example.com"

    # Artifacts: private bucket, content-addressed code key that the functions point at.
    s3 = session.client("s3")
    bucket = params["CodeBucket"]
    assert bucket == "choovio-iot-artifacts-123456789012-us-east-1"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    assert params["CodeKey"].startswith("dev/code/") and s3.head_object(Bucket=bucket, Key=params["CodeKey"])

    # The functions, named as the policies expect, with the stack's environment.
    lam = session.client("lambda")
    names = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert set(names) == {f"choovio-iot-dev-{f}" for f in ("api_handler", "ingest", "retry", "iot_authorizer",
                                                           "migrate")}
    env_vars = names["choovio-iot-dev-ingest"]["Environment"]["Variables"]
    assert env_vars["BACKUP_TABLE"] == "choovio-iot-dev-backup"
    assert env_vars["RETRY_QUEUE_URL"] == outputs["RetryQueueUrl"]
    assert names["choovio-iot-dev-ingest"]["Runtime"] == "python3.13"
    # Each function polls its own queue; only retry reports partial batch failures.
    for function, response_types in (("retry", ["ReportBatchItemFailures"]), ("ingest", [])):
        mappings = lam.list_event_source_mappings(FunctionName=f"choovio-iot-dev-{function}")["EventSourceMappings"]
        assert [m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings] == [f"choovio-iot-dev-{function}"]
        assert (mappings[0].get("FunctionResponseTypes") or []) == response_types

    # Queues and table as the template says (ingest: 6 x 30 s + the 1 s batching window).
    sqs = session.client("sqs")
    for output, visibility in (("RetryQueueUrl", 6 * 30), ("IngestQueueUrl", 6 * 30 + 1)):
        attrs = sqs.get_queue_attributes(QueueUrl=outputs[output], AttributeNames=["All"])["Attributes"]
        assert int(attrs["VisibilityTimeout"]) == visibility
        assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 5
        assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].endswith(":choovio-iot-dev-retry-dlq")
    table = session.client("dynamodb").describe_table(TableName="choovio-iot-dev-backup")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}

    # migrate was invoked, synchronously, by the name the stack gave it.
    assert len(calls) == 1 and outputs["MigrateFunctionName"] == "choovio-iot-dev-migrate"
    assert "choovio-iot-dev-migrate" in calls[0]["path"]
    assert calls[0]["headers"].get("X-Amz-Invocation-Type") == "RequestResponse"
    assert any("001_core.sql" in line for line in lines)

    # The dashboard, with the stage's API URL.
    dash = outputs["DashboardBucketName"]
    config = json.loads(s3.get_object(Bucket=dash, Key="config.json")["Body"].read())
    assert config["api_url"] == outputs["ApiUrl"] and outputs["ApiUrl"].endswith("/api")
    index = s3.head_object(Bucket=dash, Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8" and index["CacheControl"] == "no-cache"

    # A second deploy updates the same stack in place.
    stack.deploy(stage, package=False, session=session, log=lines.append, delay=1,
                 overrides={"DashboardHosting": "website", "AlarmEmail": "ops@example.com"})
    assert len(calls) == 2

    stack.teardown(stage, session=session, log=lines.append, delay=1)
    assert stack.stack_status(cfn, "choovio-iot-dev") in (None, "DELETE_COMPLETE")
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dev/").get("KeyCount", 0) == 0


def test_a_failed_migration_stops_the_deploy(moto_stage):
    stage, _ = moto_stage
    session = boto3.Session(region_name="us-east-1")
    calls: list = []
    _answer_invokes(session, calls, payload=b'{"errorMessage": "relation already exists"}', error="Unhandled")
    with pytest.raises(stack.DeployError, match="migrate failed: .*relation already exists"):
        stack.deploy(stage, package=False, session=session, log=lambda *_: None, delay=1,
                     overrides={"DashboardHosting": "website"})
    assert len(calls) == 1


def test_placeholder_subnets_are_refused_with_the_file_to_fix(aws, dev_build):
    built, _ = dev_build  # .chalice/config.json as committed: placeholder subnets
    with pytest.raises(stack.DeployError, match=r"\.chalice/config\.json"):
        stack.network_parameters(boto3.Session(region_name="us-east-1"), built)


def test_unknown_stack_parameters_are_refused(dev_build):
    built, _ = dev_build
    template = json.loads((built.build_dir / "template.json").read_text())
    with pytest.raises(stack.DeployError, match="DatabaseMod"):
        stack.stack_parameters(built, template, {"DatabaseMod": "rds"})
