"""Assertions on the CloudFormation a stage deploys (build/<stage>/template.json, from `make package`)."""
from __future__ import annotations

import json

import pytest

from deploy import rules as iot_rules
from deploy import template as tmpl
from deploy.build import cfn_lint
from tests.deploy.helpers import of_type, resources, template

FUNCS = {"api_handler": "APIHandler", "ingest": "Ingest", "retry": "Retry", "iot_authorizer": "IotAuthorizer",
         "migrate": "Migrate"}


@pytest.fixture(params=["dev", "prod"])
def built(request):
    stage, report = request.getfixturevalue(f"{request.param}_build")
    return stage, report, template(stage)


def test_cfn_lint_reports_nothing(built):
    # build.package() ran cfn-lint on sam.json and template.json (and fails on any finding).
    stage, report, _ = built
    assert report["cfn_lint"] == []
    assert (stage.build_dir / "sam.json").exists() and (stage.build_dir / "template.json").exists()


def test_cfn_lint_does_report_a_broken_template(tmp_path):
    # The check above means something only if cfn-lint speaks up when it should.
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue",
                                                      "Properties": {"VisibilityTimeout": "soon"}}}}))
    assert cfn_lint(broken)


def test_rule_sql_equals_the_files_in_iot_rules(built):
    stage, _, tpl = built
    files = sorted((stage.root / "iot_rules").glob("*.json"))
    assert files, "iot_rules/ holds no rule"
    deployed = {r["Properties"]["RuleName"]: r["Properties"]["TopicRulePayload"]
                for r in of_type(tpl, "AWS::IoT::TopicRule").values()}
    assert len(deployed) == len(files)
    for path in files:
        raw = json.loads(path.read_text())
        name = raw.get("ruleName") or raw["RuleName"]
        payload = raw.get("topicRulePayload") or raw["TopicRulePayload"]
        sql = payload.get("sql") or payload["Sql"]
        got = deployed[f"{name}_{stage.name}".replace("-", "_")]
        assert got["Sql"] == sql
        assert got["AwsIotSqlVersion"] == "2016-03-23"
        # Device messages go to the ingest queue; what the rule cannot deliver, to the retry queue.
        assert got["Actions"] == [{"Sqs": {"QueueUrl": {"Fn::Sub": "${IngestQueue}"},
                                           "RoleArn": {"Fn::Sub": "${IotRuleActionRole.Arn}"}, "UseBase64": False}}]
        assert got["ErrorAction"] == {"Sqs": {"QueueUrl": {"Fn::Sub": "${RetryQueue}"},
                                              "RoleArn": {"Fn::Sub": "${IotRuleActionRole.Arn}"}, "UseBase64": False}}


def test_the_rule_role_may_send_to_the_ingest_and_retry_queues_only(built):
    _, _, tpl = built
    role = tpl["Resources"]["IotRuleActionRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "iot.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [s["Action"] for s in statements] == ["sqs:SendMessage"]
    assert sorted(r["Fn::GetAtt"][0] for r in resources(statements[0])) == ["IngestQueue", "RetryQueue"]


def test_nothing_may_invoke_ingest_directly(built):
    # ingest runs only from its queue: no leftover IoT invoke permission, no async configuration.
    _, _, tpl = built
    permissions = [k for k, p in of_type(tpl, "AWS::Lambda::Permission").items()
                   if p["Properties"]["FunctionName"] == {"Ref": "Ingest"}]
    assert permissions == []
    assert of_type(tpl, "AWS::Lambda::EventInvokeConfig") == {}


def _mappings(tpl: dict) -> dict:
    return {m["Properties"]["FunctionName"]["Ref"]: m["Properties"]
            for m in of_type(tpl, "AWS::Lambda::EventSourceMapping").values()}


def test_retry_event_source_reports_batch_item_failures(built):
    _, _, tpl = built
    props = _mappings(tpl)["Retry"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["RetryQueue", "Arn"]}
    assert props["BatchSize"] == 10
    reserved = tpl["Resources"]["Retry"]["Properties"]["ReservedConcurrentExecutions"]
    assert props["ScalingConfig"]["MaximumConcurrency"] <= max(2, reserved)


def test_ingest_event_source_takes_whole_batches(built):
    stage, _, tpl = built
    assert set(_mappings(tpl)) == {"Ingest", "Retry"}
    props = _mappings(tpl)["Ingest"]
    # The handler fails a batch whole; with ReportBatchItemFailures its return value would be read
    # as a list of failures, so this must stay off.
    assert not props.get("FunctionResponseTypes")
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert props["BatchSize"] == int(stage.environment_variable("INGEST_BATCH_SIZE") or 100)
    assert props["MaximumBatchingWindowInSeconds"] == stage.ingest_batch_window
    reserved = tpl["Resources"]["Ingest"]["Properties"]["ReservedConcurrentExecutions"]
    assert props["ScalingConfig"]["MaximumConcurrency"] <= max(2, reserved)


@pytest.mark.parametrize("queue,function", [("RetryQueue", "Retry"), ("IngestQueue", "Ingest")])
def test_queues_redrive_to_the_dead_letter_queue(built, queue, function):
    _, _, tpl = built
    props = tpl["Resources"][queue]["Properties"]
    dlq = tpl["Resources"]["RetryDeadLetterQueue"]["Properties"]
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["RetryDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}
    # AWS: at least 6x the function's timeout; a batching window keeps messages in flight too.
    window = _mappings(tpl)[function]["MaximumBatchingWindowInSeconds"]
    assert props["VisibilityTimeout"] >= 6 * tpl["Resources"][function]["Properties"]["Timeout"] + window
    # A message keeps its enqueue time when dead-lettered: the DLQ must keep it longer than the queue did.
    assert dlq["MessageRetentionPeriod"] > props["MessageRetentionPeriod"]
    assert props["SqsManagedSseEnabled"] and dlq["SqsManagedSseEnabled"]
    # The dead-letter queue accepts this queue's messages (byQueue lists each source).
    sources = json.dumps(dlq["RedriveAllowPolicy"]["sourceQueueArns"])
    assert props["QueueName"] in sources


def test_alarms_watch_dead_letters_and_every_function(built):
    _, _, tpl = built
    alarms = {k: v["Properties"] for k, v in of_type(tpl, "AWS::CloudWatch::Alarm").items()}
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    dlq = alarms["DeadLetterQueueNotEmptyAlarm"]
    assert (dlq["Namespace"], dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == \
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold")
    assert dlq["Dimensions"] == [{"Name": "QueueName",
                                  "Value": {"Fn::GetAtt": ["RetryDeadLetterQueue", "QueueName"]}}]
    for name, queue in (("IngestBacklogAlarm", "IngestQueue"), ("RetryBacklogAlarm", "RetryQueue")):
        backlog = alarms[name]
        assert (backlog["Namespace"], backlog["MetricName"], backlog["Statistic"]) == \
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum")
        assert backlog["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
        assert 0 < backlog["Threshold"] <= 900
    # Async invocation is gone: nothing watches its metrics any more.
    assert not {a["MetricName"] for a in alarms.values()} & {"AsyncEventsDropped", "DestinationDeliveryFailures"}
    watched = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()
               if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == "Errors"}
    assert watched == set(FUNCS.values())


def test_backup_table(built):
    stage, _, tpl = built
    table = tpl["Resources"]["BackupTable"]
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == {"pk": "S", "sk": "S"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TableName"] == f"choovio-iot-{stage.name}-backup"
    if stage.name == "prod":
        assert table["DeletionPolicy"] == "Retain" and props["DeletionProtectionEnabled"] is True


def test_functions_are_wired_to_the_stack(built):
    stage, _, tpl = built
    for function, logical in FUNCS.items():
        props = tpl["Resources"][logical]["Properties"]
        assert props["FunctionName"] == f"choovio-iot-{stage.name}-{function}"
        assert props["Runtime"] == "python3.13"
        assert props["VpcConfig"] == {"SubnetIds": {"Ref": "SubnetIds"},
                                      "SecurityGroupIds": {"Ref": "LambdaSecurityGroupIds"}}
        env = props["Environment"]["Variables"]
        assert env["BACKUP_TABLE"] == {"Ref": "BackupTable"}
        assert env["RETRY_QUEUE_URL"] == {"Ref": "RetryQueue"}
        assert env["INGEST_QUEUE_NAME"] == {"Fn::GetAtt": ["IngestQueue", "QueueName"]}
        assert env["JWT_SECRET_ARN"] == {"Ref": "JwtSecret"} and env["DATA_KEY_ARN"] == {"Ref": "DataKeySecret"}
        assert "DB_SECRET_ARN" in env and "DB_HOST" in env
        # Secrets are referenced, never inlined.
        assert not {"JWT_SECRET", "DATA_KEY", "DB_PASSWORD", "DATABASE_URL"} & set(env)
    for function in ("ingest", "retry"):
        assert tpl["Resources"][FUNCS[function]]["Properties"]["ReservedConcurrentExecutions"] >= 1
    log = tpl["Resources"]["IngestLogGroup"]["Properties"]["LogGroupName"]
    assert log == f"/aws/lambda/choovio-iot-{stage.name}-ingest"


def test_no_secret_in_config_or_template(built):
    stage, _, tpl = built
    config = json.loads((stage.root / ".chalice" / "config.json").read_text())
    text = json.dumps(config) + json.dumps(tpl)
    for name in ("JWT_SECRET\"", "DATA_KEY\"", "DB_PASSWORD", "DATABASE_URL", "MasterUserPassword\": \""):
        assert name not in text, name
    secrets = of_type(tpl, "AWS::SecretsManager::Secret")
    assert {"JwtSecret", "DataKeySecret", "DbSecret"} <= set(secrets)
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]  # generated by Secrets Manager, never written here


def test_iot_custom_authorizer(built):
    stage, _, tpl = built
    auth = tpl["Resources"]["IotCustomAuthorizer"]["Properties"]
    assert auth["AuthorizerFunctionArn"] == {"Fn::GetAtt": ["IotAuthorizer", "Arn"]}
    assert auth["SigningDisabled"] is True and auth["Status"] == "ACTIVE"
    assert auth["AuthorizerName"] == f"choovio-iot-{stage.name}-authorizer"
    perm = tpl["Resources"]["IotCustomAuthorizerInvokePermission"]["Properties"]
    assert perm["FunctionName"] == {"Ref": "IotAuthorizer"} and perm["Principal"] == "iot.amazonaws.com"
    assert perm["SourceArn"] == {"Fn::GetAtt": ["IotCustomAuthorizer", "Arn"]}


def test_dashboard_bucket_is_private_behind_cloudfront(built):
    _, _, tpl = built
    bucket = tpl["Resources"]["DashboardBucket"]["Properties"]
    block = bucket["PublicAccessBlockConfiguration"]
    assert block["BlockPublicAcls"] is True and block["IgnorePublicAcls"] is True
    # Public policies only in website mode, which exists for exactly that.
    assert block["BlockPublicPolicy"] == {"Fn::If": ["UseWebsite", False, True]}
    cdn = tpl["Resources"]["DashboardCdn"]["Properties"]["DistributionConfig"]
    assert cdn["Origins"][0]["OriginAccessControlId"] == {"Fn::GetAtt": ["DashboardOac", "Id"]}
    assert cdn["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    policy = tpl["Resources"]["DashboardBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    oac_read = policy["Fn::If"][1]
    assert oac_read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "AWS:SourceArn" in oac_read["Condition"]["StringEquals"]


def test_database_created_behind_rds_proxy_or_given(built):
    _, _, tpl = built
    params = tpl["Parameters"]
    assert params["DatabaseMode"]["AllowedValues"] == ["existing", "rds", "aurora"]
    proxy = tpl["Resources"]["DbProxy"]
    assert proxy["Condition"] == "CreateDb" and proxy["Properties"]["RequireTLS"] is True
    assert tpl["Resources"]["DbInstance"]["Condition"] == "CreateRds"
    assert tpl["Resources"]["DbCluster"]["Properties"]["ServerlessV2ScalingConfiguration"]
    assert tpl["Resources"]["DbInstance"]["Properties"]["PubliclyAccessible"] is False
    env = tpl["Resources"]["Ingest"]["Properties"]["Environment"]["Variables"]
    assert env["DB_HOST"] == {"Fn::If": ["CreateDb", {"Fn::GetAtt": ["DbProxy", "Endpoint"]},
                                         {"Ref": "ExistingDbHost"}]}


def test_visibility_timeout_follows_the_function_timeout(dev_build):
    stage, _ = dev_build
    assert tmpl.visibility_timeout(stage) == 6 * stage.timeout("retry")
    assert tmpl.visibility_timeout(stage, "ingest") == 6 * stage.timeout("ingest") + stage.ingest_batch_window


def test_outputs_the_deploy_command_reads(built):
    _, _, tpl = built
    assert {"ApiUrl", "DashboardBucketName", "DashboardDistributionId", "MigrateFunctionName",
            "IngestQueueUrl"} <= set(tpl["Outputs"])


def test_rule_names_are_unique_per_stage():
    rules = iot_rules.load_rules()
    names = {iot_rules.rule_name(r, s) for r in rules for s in ("dev", "prod")}
    assert len(names) == 2 * len(rules)
