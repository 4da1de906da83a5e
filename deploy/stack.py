"""`make deploy` / `make teardown`: the AWS calls, all through boto3 (no AWS CLI, no SAM CLI).

deploy: package -> look up the VPC of the configured subnets and the account's IoT endpoint ->
upload the zip and the template to the artifacts bucket (content-addressed keys) -> create or
update the CloudFormation stack and wait -> invoke `migrate` -> upload the dashboard with the
stage's API URL -> print where everything is.

teardown: empty the dashboard bucket -> delete the stack and wait -> remove the stage's
artifacts. Production data (backup table, keys, a final database snapshot) is retained by
the template's deletion policies and listed at the end.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from deploy import dashboard
from deploy.project import APP_NAME, Stage

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
IN_PROGRESS = "_IN_PROGRESS"


class DeployError(SystemExit):
    pass


def session_for(stage: Stage):
    import boto3

    return boto3.Session(region_name=stage.region)


def _client_error():
    from botocore.exceptions import ClientError

    return ClientError


# -- inputs the stack needs from the account -----------------------------------------------------


def network_parameters(session, stage: Stage) -> dict[str, str]:
    """VPC, subnets, security groups and route tables, from the subnets in .chalice/config.json."""
    ec2 = session.client("ec2")
    subnets, groups = stage.subnet_ids, stage.security_group_ids
    if not subnets or not groups:
        raise DeployError(f"stage {stage.name}: set subnet_ids and security_group_ids in .chalice/config.json "
                          "(private subnets that reach your database, and the functions' security group)")
    try:
        found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
        ec2.describe_security_groups(GroupIds=groups)
    except _client_error() as exc:
        raise DeployError(f"stage {stage.name}: {exc.response['Error']['Message']} - set subnet_ids and "
                          f"security_group_ids in .chalice/config.json to ones in {stage.region}") from exc
    vpcs = {s["VpcId"] for s in found}
    if len(vpcs) != 1:
        raise DeployError(f"stage {stage.name}: the subnets are in {len(vpcs)} VPCs; use subnets of one VPC")
    vpc = vpcs.pop()
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": subnets}])["RouteTables"]
    if not tables:  # subnets without an explicit association use the VPC's main table
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    return {"VpcId": vpc, "SubnetIds": ",".join(subnets), "LambdaSecurityGroupIds": ",".join(groups),
            "RouteTableIds": ",".join(sorted({t["RouteTableId"] for t in tables}))}


def iot_data_endpoint(session) -> str:
    return session.client("iot").describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]


def artifacts_bucket(session, stage: Stage) -> str:
    """One private bucket per account and region for code and templates, created on first use."""
    account = session.client("sts").get_caller_identity()["Account"]
    name = f"{APP_NAME}-artifacts-{account}-{stage.region}"
    s3 = session.client("s3")
    try:
        s3.head_bucket(Bucket=name)
        return name
    except _client_error():
        pass
    create = {"Bucket": name}
    if stage.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": stage.region}
    s3.create_bucket(**create)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": "old-artifacts", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 90}}]})
    return name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload_artifacts(session, stage: Stage, bucket: str) -> tuple[str, str]:
    """The zip and the template under content-addressed keys; returns (code key, template URL)."""
    s3 = session.client("s3")
    out = stage.build_dir
    code_key = f"{stage.name}/code/{_sha256(out / 'deployment.zip')}.zip"
    template_key = f"{stage.name}/templates/{_sha256(out / 'template.json')}.json"
    for key, path in ((code_key, out / "deployment.zip"), (template_key, out / "template.json")):
        s3.upload_file(str(path), bucket, key)
    return code_key, f"https://{bucket}.s3.{stage.region}.amazonaws.com/{template_key}"


def stack_parameters(stage: Stage, template: dict, *parts: dict) -> list[dict]:
    values = {**stage.parameters}
    for part in parts:
        values.update(part)
    unknown = sorted(set(values) - set(template.get("Parameters", {})))
    if unknown:
        raise DeployError(f"stage {stage.name}: unknown stack parameter(s) {unknown} (deploy/stages/"
                          f"{stage.name}.json or --param); the template has {sorted(template['Parameters'])}")
    return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(values.items())]


# -- the stack --------------------------------------------------------------------------------------


def stack_status(cfn, name: str) -> str | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except _client_error() as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _failures(cfn, name: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except _client_error():
        return ""
    failed = [f"  {e['LogicalResourceId']} ({e['ResourceType']}): {e.get('ResourceStatusReason', '')}"
              for e in events if e.get("ResourceStatus", "").endswith("_FAILED")]
    return "\n".join(failed[:15])


def _wait(cfn, waiter: str, name: str, delay: int) -> None:
    from botocore.exceptions import WaiterError

    try:
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": delay, "MaxAttempts": 3600 // delay + 60})
    except WaiterError as exc:
        raise DeployError(f"stack {name}: {waiter} failed ({exc}).\n{_failures(cfn, name)}") from exc


def apply_stack(session, stage: Stage, template_url: str, parameters: list[dict], log=print,
                delay: int = 15) -> dict[str, str]:
    cfn = session.client("cloudformation")
    name = stage.stack_name
    status = stack_status(cfn, name)
    if status and status.endswith(IN_PROGRESS):
        raise DeployError(f"stack {name} is {status}; wait for it to finish and run again")
    if status == "ROLLBACK_COMPLETE":  # a failed first create leaves a stack that can only be deleted
        log(f"stack {name} is ROLLBACK_COMPLETE from a failed first deploy: deleting it first")
        cfn.delete_stack(StackName=name)
        _wait(cfn, "stack_delete_complete", name, delay)
        status = None
    common = {"StackName": name, "TemplateURL": template_url, "Parameters": parameters,
              "Capabilities": CAPABILITIES, "Tags": [{"Key": "project", "Value": APP_NAME},
                                                     {"Key": "stage", "Value": stage.name}]}
    if status is None:
        log(f"creating stack {name} in {stage.region} (a created database and CloudFront take 15-25 minutes)")
        cfn.create_stack(**common, EnableTerminationProtection=stage.name == "prod")
        _wait(cfn, "stack_create_complete", name, delay)
    else:
        log(f"updating stack {name} ({status})")
        try:
            cfn.update_stack(**common)
        except _client_error() as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            log("  no changes")
        else:
            _wait(cfn, "stack_update_complete", name, delay)
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}


def run_migrations(session, function_name: str, log=print) -> list[str]:
    """Invoke `migrate` synchronously; a failure stops the deploy with the function's error."""
    from botocore.config import Config

    client = session.client("lambda", config=Config(read_timeout=900, retries={"max_attempts": 0}))
    response = client.invoke(FunctionName=function_name, InvocationType="RequestResponse", Payload=b"{}")
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        raise DeployError(f"migrate failed: {payload.decode(errors='replace')[:2000]}")
    try:
        applied = json.loads(payload or b"{}").get("applied", [])
    except (ValueError, AttributeError):
        applied = []
    log(f"migrations: {', '.join(applied) if applied else 'already up to date'}")
    return applied


# -- commands ------------------------------------------------------------------------------------------


def deploy(stage: Stage, *, package: bool = True, overrides: dict | None = None, session=None, log=print,
           delay: int = 15) -> dict[str, str]:
    if package:
        from deploy import build

        build.package(stage, log=log)
    template_file = stage.build_dir / "template.json"
    if not template_file.exists():
        raise DeployError(f"{template_file} is missing: run `make package STAGE={stage.name}` first")
    session = session or session_for(stage)
    network = network_parameters(session, stage)
    endpoint = iot_data_endpoint(session)
    bucket = artifacts_bucket(session, stage)
    code_key, template_url = upload_artifacts(session, stage, bucket)
    parameters = stack_parameters(stage, json.loads(template_file.read_text()), network,
                                  {"IotDataEndpoint": endpoint, "CodeBucket": bucket, "CodeKey": code_key},
                                  overrides or {})
    outputs = apply_stack(session, stage, template_url, parameters, log, delay)
    run_migrations(session, outputs["MigrateFunctionName"], log)
    dashboard.upload(session, outputs["DashboardBucketName"], outputs["ApiUrl"],
                     distribution_id=outputs.get("DashboardDistributionId", ""), log=log)
    log(f"\nstage {stage.name} is up:\n  API        {outputs['ApiUrl']}\n  dashboard  {outputs.get('DashboardUrl')}\n"
        f"  MQTT       {endpoint}:8883 (X.509) or :443 with ALPN mqtt, username "
        f"<thing id>?x-amz-customauthorizer-name={outputs.get('IotAuthorizerName')}, password <thing key>\n"
        f"  alarms     {outputs.get('AlarmTopicArn')} (subscribe to it)")
    return outputs


def teardown(stage: Stage, *, session=None, log=print, delay: int = 15) -> None:
    session = session or session_for(stage)
    cfn = session.client("cloudformation")
    name = stage.stack_name
    status = stack_status(cfn, name)
    if status is None:
        log(f"stack {name} does not exist in {stage.region}: nothing to remove")
        return
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    bucket = outputs.get("DashboardBucketName")
    if bucket:
        try:
            log(f"emptying s3://{bucket}: {dashboard.empty_bucket(session, bucket)} objects")
        except _client_error() as exc:
            log(f"  could not empty {bucket}: {exc}")
    if stack.get("EnableTerminationProtection"):
        cfn.update_termination_protection(StackName=name, EnableTerminationProtection=False)
    started = time.monotonic()
    cfn.delete_stack(StackName=name)
    _wait(cfn, "stack_delete_complete", name, delay)
    log(f"stack {name} deleted in {time.monotonic() - started:.0f} s")
    try:
        artifacts = artifacts_bucket(session, stage)
        s3 = session.client("s3")
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=artifacts,
                                                                                Prefix=f"{stage.name}/")
                for o in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=artifacts, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})
    except _client_error() as exc:
        log(f"  could not clean the artifacts bucket: {exc}")
    if stage.name == "prod":
        log("retained on purpose (delete by hand only if you mean to lose the data):\n"
            f"  DynamoDB table {stage.backup_table} (deletion protection on)\n"
            f"  secrets {stage.secret_name('jwt-secret')}, {stage.secret_name('data-key')}\n"
            "  a final snapshot of the database (RDS console, snapshots)")
