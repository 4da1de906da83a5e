"""The CloudFormation merged into `chalice package` output (--merge-template), per stage.

Chalice makes the functions, their roles (from .chalice/policy-*.json), the REST API and
the SQS event sources. Everything else a stage needs is here, as plain data:

- the DynamoDB backup table (pk/sk strings, point-in-time recovery, KMS encryption);
- the ingest queue (topic rules -> ingest function, in batches) and the retry queue, both
  redriving to one dead-letter queue after MAX_RECEIVES receives, visibility timeout
  VISIBILITY_FACTOR x their function's timeout; a concurrency cap on both event sources,
  ReportBatchItemFailures on the retry one only (ingest fails or succeeds a batch whole);
- the IoT topic rules from iot_rules/ and the role their actions use (sending to the queues);
  the IoT custom authorizer and its permission;
- the signing key, the data key and the database credentials in Secrets Manager;
- PostgreSQL: an existing database, or RDS PostgreSQL / Aurora Serverless v2 behind RDS Proxy;
- the dashboard bucket, private behind CloudFront (OAC) or public as an S3 website;
- CloudWatch alarms (dead letters, ingest and retry backlogs, function errors, ingest throttles)
  on an SNS topic;
- overrides of what Chalice generated: fixed function names, stack-filled environment,
  VPC from parameters, log group names.
"""
from __future__ import annotations

from deploy import rules as iot_rules
from deploy.project import FUNCTIONS, INGEST_EVENT_SOURCE, LOG_GROUPS, RETRY_EVENT_SOURCE, ROLES, Stage

MAX_RECEIVES = 5
VISIBILITY_FACTOR = 6
QUEUE_RETENTION = 4 * 86400
# A message keeps its first enqueue time when it moves to the dead-letter queue: keep it longer.
DEAD_LETTER_RETENTION = 14 * 86400
# Ingestion normally drains within seconds; older than this, it is not keeping up or a batch keeps failing.
INGEST_BACKLOG_SECONDS = 300
POSTGRES_VERSION = "16.6"
AURORA_VERSION = "16.6"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS managed cache policy


def _ref(name):
    return {"Ref": name}


def _att(name, attr):
    return {"Fn::GetAtt": [name, attr]}


def _sub(text):
    return {"Fn::Sub": text}


def _if(cond, yes, no):
    return {"Fn::If": [cond, yes, no]}


NO_VALUE = _ref("AWS::NoValue")


def _param(kind, default=None, description="", **extra):
    p = {"Type": kind, "Description": description, **extra}
    if default is not None:
        p["Default"] = default
    return p


def parameters() -> dict:
    return {
        "DatabaseMode": _param("String", "rds", "existing: use ExistingDb*; rds: RDS PostgreSQL; aurora: Aurora "
                               "Serverless v2. Created databases sit behind RDS Proxy.",
                               AllowedValues=["existing", "rds", "aurora"]),
        "VpcId": _param("AWS::EC2::VPC::Id", description="VPC of the functions' subnets (deploy reads it from "
                                                         "the subnets in .chalice/config.json)"),
        "SubnetIds": _param("List<AWS::EC2::Subnet::Id>", description="Private subnets of the functions (and "
                                                                      "of a created database)"),
        "LambdaSecurityGroupIds": _param("List<AWS::EC2::SecurityGroup::Id>",
                                         description="Security groups of the functions; the first one is "
                                                     "allowed into a created database"),
        "RouteTableIds": _param("CommaDelimitedList", "", "Route tables of the subnets (DynamoDB gateway "
                                                          "endpoint), when CreateVpcEndpoints is true"),
        "CreateVpcEndpoints": _param("String", "false", "true: DynamoDB, SQS and Secrets Manager endpoints in "
                                                        "the VPC (otherwise the subnets need a NAT gateway)",
                                     AllowedValues=["true", "false"]),
        "ExistingDbHost": _param("String", "", "Existing PostgreSQL host (DatabaseMode=existing)"),
        "ExistingDbPort": _param("String", "5432", "Existing PostgreSQL port"),
        "ExistingDbName": _param("String", "postgres", "Existing PostgreSQL database"),
        "ExistingDbSecretName": _param("String", "", "Name of the Secrets Manager secret (JSON username and "
                                                     "password, as RDS keeps them) of the existing database"),
        "DbName": _param("String", "choovio", "Database created in a new instance or cluster",
                         AllowedPattern="^[a-zA-Z][a-zA-Z0-9_]{0,62}$"),
        "DbInstanceClass": _param("String", "db.t4g.micro", "RDS instance class (DatabaseMode=rds)"),
        "DbAllocatedStorage": _param("Number", 20, "GiB of gp3 storage (DatabaseMode=rds)", MinValue=20),
        "DbMultiAz": _param("String", "false", "Standby in a second AZ (DatabaseMode=rds)",
                            AllowedValues=["true", "false"]),
        "AuroraMinCapacity": _param("Number", 0.5, "Aurora Serverless v2 minimum ACUs", MinValue=0),
        "AuroraMaxCapacity": _param("Number", 4, "Aurora Serverless v2 maximum ACUs", MinValue=1),
        "DashboardHosting": _param("String", "cloudfront", "cloudfront: private bucket behind CloudFront "
                                                           "(HTTPS, OAC); website: public S3 website endpoint "
                                                           "(HTTP only)",
                                   AllowedValues=["cloudfront", "website"]),
        "AlarmEmail": _param("String", "", "Address subscribed to the alarm topic (empty: none)"),
        "MailFrom": _param("String", "", "Verified SES sender for password-reset mail (empty: mail goes to "
                                         "the function log)"),
        "IotDataEndpoint": _param("String", "", "The account's iot:Data-ATS endpoint (deploy looks it up)"),
        "SecretsVersion": _param("String", "1", "Change it after rotating a secret: every function gets a new "
                                                "environment, so no container keeps the old value cached"),
    }


def conditions() -> dict:
    return {
        "CreateDb": {"Fn::Not": [{"Fn::Equals": [_ref("DatabaseMode"), "existing"]}]},
        "CreateRds": {"Fn::Equals": [_ref("DatabaseMode"), "rds"]},
        "CreateAurora": {"Fn::Equals": [_ref("DatabaseMode"), "aurora"]},
        "RdsMultiAz": {"Fn::Equals": [_ref("DbMultiAz"), "true"]},
        "UseCloudFront": {"Fn::Equals": [_ref("DashboardHosting"), "cloudfront"]},
        "UseWebsite": {"Fn::Equals": [_ref("DashboardHosting"), "website"]},
        "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [_ref("AlarmEmail"), ""]}]},
        "HasMailFrom": {"Fn::Not": [{"Fn::Equals": [_ref("MailFrom"), ""]}]},
        "HasIotEndpoint": {"Fn::Not": [{"Fn::Equals": [_ref("IotDataEndpoint"), ""]}]},
        "WantVpcEndpoints": {"Fn::Equals": [_ref("CreateVpcEndpoints"), "true"]},
    }


def rules_section() -> dict:
    return {
        "ExistingDatabaseNeedsHostAndSecret": {
            "RuleCondition": {"Fn::Equals": [_ref("DatabaseMode"), "existing"]},
            "Assertions": [
                {"Assert": {"Fn::Not": [{"Fn::Equals": [_ref("ExistingDbHost"), ""]}]},
                 "AssertDescription": "DatabaseMode=existing needs ExistingDbHost"},
                {"Assert": {"Fn::Not": [{"Fn::Equals": [_ref("ExistingDbSecretName"), ""]}]},
                 "AssertDescription": "DatabaseMode=existing needs ExistingDbSecretName"},
            ],
        },
    }


# -- data stores and queues ------------------------------------------------------------


def _keep(stage: Stage, resource: dict, policy: str = "Retain") -> dict:
    """Production data outlives its stack (teardown says what it kept); dev data does not."""
    chosen = policy if stage.name == "prod" else "Delete"
    return {**resource, "DeletionPolicy": chosen, "UpdateReplacePolicy": chosen}


def backup_table(stage: Stage) -> dict:
    props = {
        "TableName": stage.backup_table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": stage.name == "prod",
    }
    return {"BackupTable": _keep(stage, {"Type": "AWS::DynamoDB::Table", "Properties": props})}


def visibility_timeout(stage: Stage, function: str = "retry") -> int:
    """AWS advises at least 6x the function's timeout for an SQS event source (room for retries of
    throttled batches); messages gathered during the ingest batching window are already in flight."""
    window = stage.ingest_batch_window if function == "ingest" else 0
    return VISIBILITY_FACTOR * stage.timeout(function) + window


def queues(stage: Stage) -> dict:
    def source_queue(name, function):
        return {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": name,
            "VisibilityTimeout": visibility_timeout(stage, function),
            "MessageRetentionPeriod": QUEUE_RETENTION,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": _att("RetryDeadLetterQueue", "Arn"),
                              "maxReceiveCount": MAX_RECEIVES},
        }}

    sources = [_sub("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + name)
               for name in (stage.retry_queue, stage.ingest_queue)]
    return {
        "RetryDeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": stage.dead_letter_queue,
            "MessageRetentionPeriod": DEAD_LETTER_RETENTION,
            "SqsManagedSseEnabled": True,
            # Only the retry and ingest queues may move messages here (and redrive takes them back).
            "RedriveAllowPolicy": {"redrivePermission": "byQueue", "sourceQueueArns": sources},
        }},
        "RetryQueue": source_queue(stage.retry_queue, "retry"),
        "IngestQueue": source_queue(stage.ingest_queue, "ingest"),
    }


def secrets(stage: Stage) -> dict:
    def generated(name, description):
        return _keep(stage, {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Name": stage.secret_name(name),
            "Description": description,
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        }})

    return {
        "JwtSecret": generated("jwt-secret", "Signs user access and refresh tokens (JWT_SECRET)"),
        # Thing keys are found by an HMAC of this key and encrypted with it: losing it loses them all.
        "DataKeySecret": generated("data-key", "Derives the thing-key lookup HMAC and encryption keys (DATA_KEY)"),
    }


# -- PostgreSQL ------------------------------------------------------------------------------


def database(stage: Stage) -> dict:
    cond = "CreateDb"
    db_secret = _ref("DbSecret")
    user = {"Fn::Sub": "{{resolve:secretsmanager:${DbSecret}:SecretString:username}}"}
    password = {"Fn::Sub": "{{resolve:secretsmanager:${DbSecret}:SecretString:password}}"}
    first_lambda_sg = {"Fn::Select": [0, _ref("LambdaSecurityGroupIds")]}
    snapshot = "Snapshot" if stage.name == "prod" else "Delete"
    return {
        "DbSecret": {"Type": "AWS::SecretsManager::Secret", "Condition": cond, "Properties": {
            "Name": stage.secret_name("db"),
            "Description": "PostgreSQL master credentials (DB_SECRET_ARN); RDS Proxy signs in with them",
            "GenerateSecretString": {
                "SecretStringTemplate": '{"username": "choovio"}', "GenerateStringKey": "password",
                "PasswordLength": 32, "ExcludeCharacters": "\"@/\\'`:?#[]%{} ",
            },
        }},
        "DbSubnetGroup": {"Type": "AWS::RDS::DBSubnetGroup", "Condition": cond, "Properties": {
            "DBSubnetGroupDescription": f"{stage.prefix} PostgreSQL", "SubnetIds": _ref("SubnetIds")}},
        "DbProxySecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Condition": cond, "Properties": {
            "GroupDescription": f"{stage.prefix} RDS Proxy: PostgreSQL from the functions",
            "VpcId": _ref("VpcId"),
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                                      "SourceSecurityGroupId": first_lambda_sg,
                                      "Description": "functions"}]}},
        "DbSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Condition": cond, "Properties": {
            "GroupDescription": f"{stage.prefix} PostgreSQL: only from RDS Proxy and the functions",
            "VpcId": _ref("VpcId"),
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                 "SourceSecurityGroupId": _ref("DbProxySecurityGroup"), "Description": "RDS Proxy"},
                # migrate connects directly: DDL and advisory locks pin proxy connections anyway.
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                 "SourceSecurityGroupId": first_lambda_sg, "Description": "functions (migrations)"},
            ]}},
        "DbInstance": {"Type": "AWS::RDS::DBInstance", "Condition": "CreateRds",
                       "DeletionPolicy": snapshot, "UpdateReplacePolicy": snapshot, "Properties": {
                           "Engine": "postgres", "EngineVersion": POSTGRES_VERSION,
                           "DBInstanceClass": _ref("DbInstanceClass"),
                           "AllocatedStorage": _ref("DbAllocatedStorage"), "StorageType": "gp3",
                           "StorageEncrypted": True, "MultiAZ": _if("RdsMultiAz", True, False),
                           "DBName": _ref("DbName"), "MasterUsername": user, "MasterUserPassword": password,
                           "DBSubnetGroupName": _ref("DbSubnetGroup"),
                           "VPCSecurityGroups": [_ref("DbSecurityGroup")], "PubliclyAccessible": False,
                           "BackupRetentionPeriod": 7, "CopyTagsToSnapshot": True,
                           "DeletionProtection": stage.name == "prod", "AutoMinorVersionUpgrade": True}},
        "DbCluster": {"Type": "AWS::RDS::DBCluster", "Condition": "CreateAurora",
                      "DeletionPolicy": snapshot, "UpdateReplacePolicy": snapshot, "Properties": {
                          "Engine": "aurora-postgresql", "EngineVersion": AURORA_VERSION,
                          "DatabaseName": _ref("DbName"), "MasterUsername": user, "MasterUserPassword": password,
                          "DBSubnetGroupName": _ref("DbSubnetGroup"),
                          "VpcSecurityGroupIds": [_ref("DbSecurityGroup")], "StorageEncrypted": True,
                          "BackupRetentionPeriod": 7, "CopyTagsToSnapshot": True,
                          "DeletionProtection": stage.name == "prod",
                          "ServerlessV2ScalingConfiguration": {"MinCapacity": _ref("AuroraMinCapacity"),
                                                               "MaxCapacity": _ref("AuroraMaxCapacity")}}},
        "DbClusterWriter": {"Type": "AWS::RDS::DBInstance", "Condition": "CreateAurora", "Properties": {
            "Engine": "aurora-postgresql", "DBInstanceClass": "db.serverless",
            "DBClusterIdentifier": _ref("DbCluster"), "PubliclyAccessible": False}},
        "DbSecretAttachment": {"Type": "AWS::SecretsManager::SecretTargetAttachment", "Condition": cond,
                               "Properties": {
                                   "SecretId": db_secret,
                                   "TargetType": _if("CreateRds", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster"),
                                   "TargetId": _if("CreateRds", _ref("DbInstance"), _ref("DbCluster"))}},
        "DbProxyRole": {"Type": "AWS::IAM::Role", "Condition": cond, "Properties": {
            "AssumeRolePolicyDocument": _assume("rds.amazonaws.com"),
            "Policies": [{"PolicyName": "ReadDbSecret", "PolicyDocument": _doc([
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": db_secret}])}]}},
        "DbProxy": {"Type": "AWS::RDS::DBProxy", "Condition": cond, "Properties": {
            "DBProxyName": stage.prefix, "EngineFamily": "POSTGRESQL", "RequireTLS": True,
            "IdleClientTimeout": 900, "RoleArn": _att("DbProxyRole", "Arn"),
            "Auth": [{"AuthScheme": "SECRETS", "SecretArn": db_secret, "IAMAuth": "DISABLED"}],
            "VpcSubnetIds": _ref("SubnetIds"), "VpcSecurityGroupIds": [_ref("DbProxySecurityGroup")]}},
        "DbProxyTargetRds": {"Type": "AWS::RDS::DBProxyTargetGroup", "Condition": "CreateRds", "Properties": {
            "DBProxyName": _ref("DbProxy"), "TargetGroupName": "default",
            "DBInstanceIdentifiers": [_ref("DbInstance")],
            "ConnectionPoolConfigurationInfo": {"MaxConnectionsPercent": 90}}},
        "DbProxyTargetAurora": {"Type": "AWS::RDS::DBProxyTargetGroup", "Condition": "CreateAurora",
                                "DependsOn": "DbClusterWriter", "Properties": {
                                    "DBProxyName": _ref("DbProxy"), "TargetGroupName": "default",
                                    "DBClusterIdentifiers": [_ref("DbCluster")],
                                    "ConnectionPoolConfigurationInfo": {"MaxConnectionsPercent": 90}}},
    }


def vpc_endpoints(stage: Stage) -> dict:
    cond = "WantVpcEndpoints"
    out = {
        "VpcEndpointSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Condition": cond, "Properties": {
            "GroupDescription": f"{stage.prefix} VPC endpoints: HTTPS from the functions",
            "VpcId": _ref("VpcId"),
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                      "SourceSecurityGroupId": {"Fn::Select": [0, _ref("LambdaSecurityGroupIds")]},
                                      "Description": "functions"}]}},
        "DynamoDbEndpoint": {"Type": "AWS::EC2::VPCEndpoint", "Condition": cond, "Properties": {
            "VpcId": _ref("VpcId"), "VpcEndpointType": "Gateway", "RouteTableIds": _ref("RouteTableIds"),
            "ServiceName": _sub("com.amazonaws.${AWS::Region}.dynamodb")}},
    }
    for service, logical in (("sqs", "SqsEndpoint"), ("secretsmanager", "SecretsManagerEndpoint")):
        out[logical] = {"Type": "AWS::EC2::VPCEndpoint", "Condition": cond, "Properties": {
            "VpcId": _ref("VpcId"), "VpcEndpointType": "Interface", "PrivateDnsEnabled": True,
            "SubnetIds": _ref("SubnetIds"), "SecurityGroupIds": [_ref("VpcEndpointSecurityGroup")],
            "ServiceName": _sub("com.amazonaws.${AWS::Region}." + service)}}
    return out


# -- functions: what Chalice generated, completed ---------------------------------------------


def environment(stage: Stage) -> dict:
    """Stack-filled environment, the same for every function (they share chalicelib's wiring)."""
    return {
        "BACKUP_TABLE": _ref("BackupTable"),
        "RETRY_QUEUE_URL": _ref("RetryQueue"),
        "RETRY_QUEUE_NAME": _att("RetryQueue", "QueueName"),
        "INGEST_QUEUE_NAME": _att("IngestQueue", "QueueName"),
        "DEAD_LETTER_QUEUE_URL": _ref("RetryDeadLetterQueue"),
        "JWT_SECRET_ARN": _ref("JwtSecret"),
        "DATA_KEY_ARN": _ref("DataKeySecret"),
        "DB_SECRET_ARN": _if("CreateDb", _ref("DbSecret"), _ref("ExistingDbSecretName")),
        "DB_HOST": _if("CreateDb", _att("DbProxy", "Endpoint"), _ref("ExistingDbHost")),
        "DB_PORT": _if("CreateDb", "5432", _ref("ExistingDbPort")),
        "DB_NAME": _if("CreateDb", _ref("DbName"), _ref("ExistingDbName")),
        "IOT_ENDPOINT": _if("HasIotEndpoint", _ref("IotDataEndpoint"), NO_VALUE),
        "IOT_DATA_ENDPOINT": _if("HasIotEndpoint", _ref("IotDataEndpoint"), NO_VALUE),
        "IOT_AUTHORIZER_NAME": stage.authorizer_name,
        "IOT_POLICY_PREFIX": stage.prefix,
        "MAIL_SENDER": _if("HasMailFrom", "ses", "log"),
        "MAIL_FROM": _if("HasMailFrom", _ref("MailFrom"), NO_VALUE),
        "SECRETS_VERSION": _ref("SecretsVersion"),
    }


def migrate_environment(stage: Stage) -> dict:
    """migrate talks to PostgreSQL itself, not through the proxy (DDL and advisory locks pin anyway)."""
    return {"DB_HOST": _if("CreateRds", _att("DbInstance", "Endpoint.Address"),
                           _if("CreateAurora", _att("DbCluster", "Endpoint.Address"), _ref("ExistingDbHost")))}


def function_overrides(stage: Stage) -> dict:
    env = environment(stage)
    out = {}
    for function, logical in FUNCTIONS.items():
        variables = {**env, **(migrate_environment(stage) if function == "migrate" else {})}
        out[logical] = {"Properties": {
            "FunctionName": stage.function_name(function),
            "Environment": {"Variables": variables},
            "VpcConfig": {"SubnetIds": _ref("SubnetIds"), "SecurityGroupIds": _ref("LambdaSecurityGroupIds")},
        }}
        # Chalice names log groups after the function's logical id (and gets APIHandler wrong): name
        # them after the fixed function names instead, so the policies' log ARNs match.
        out[LOG_GROUPS[function]] = {"Properties": {"LogGroupName": f"/aws/lambda/{stage.function_name(function)}"}}
    out[FUNCTIONS["retry"]]["Properties"]["Events"] = {RETRY_EVENT_SOURCE: {"Properties": {
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "ScalingConfig": _poll_cap(stage, "retry")}}}
    # No ReportBatchItemFailures: ingest stores a batch in one transaction and fails it whole.
    out[FUNCTIONS["ingest"]]["Properties"]["Events"] = {INGEST_EVENT_SOURCE: {"Properties": {
        "ScalingConfig": _poll_cap(stage, "ingest")}}}
    return out


def _poll_cap(stage: Stage, function: str) -> dict:
    """Never poll faster than the reserved concurrency can run: throttled batches would count
    receives and push good messages into the dead-letter queue (2 is the lowest cap SQS takes)."""
    return {"MaximumConcurrency": max(2, stage.reserved_concurrency(function) or 2)}


def replacements(stage: Stage) -> list[tuple[tuple[str, ...], object]]:
    """Values that must replace, not merge into, what Chalice generated (a deep merge would keep both)."""
    # A reference, not Chalice's name-built ARN, so that the queue exists before the mapping.
    return [(("Resources", FUNCTIONS[function], "Properties", "Events", source, "Properties", "Queue"),
             _att(queue, "Arn"))
            for function, source, queue in (("retry", RETRY_EVENT_SOURCE, "RetryQueue"),
                                            ("ingest", INGEST_EVENT_SOURCE, "IngestQueue"))]


def extra_policies(stage: Stage) -> dict:
    """Grants whose resource only the stack knows: the database secret (created or given) and SES."""
    roles = [_ref(ROLES[f]) for f in FUNCTIONS]
    return {
        "DbSecretReadPolicy": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "ReadDatabaseSecret", "Roles": roles,
            "PolicyDocument": _doc([{"Sid": "DatabaseCredentials", "Effect": "Allow",
                                     "Action": "secretsmanager:GetSecretValue",
                                     "Resource": _if("CreateDb", _ref("DbSecret"), _sub(
                                         "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
                                         "secret:${ExistingDbSecretName}-??????"))}])}},
        "SesSendPolicy": {"Type": "AWS::IAM::Policy", "Condition": "HasMailFrom", "Properties": {
            "PolicyName": "SendPasswordResetMail", "Roles": [_ref(ROLES["api_handler"])],
            "PolicyDocument": _doc([{"Sid": "SesSenderIdentity", "Effect": "Allow", "Action": "ses:SendEmail",
                                     "Resource": [
                                         _sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                                              "identity/${MailFrom}"),
                                         {"Fn::Sub": ["arn:${AWS::Partition}:ses:${AWS::Region}:"
                                                      "${AWS::AccountId}:identity/${Domain}",
                                                      {"Domain": {"Fn::Select": [1, {"Fn::Split": [
                                                          "@", _ref("MailFrom")]}]}}]}]}])}},
    }


# -- IoT Core ------------------------------------------------------------------------------------

# What a rule placeholder asks of the stack -> the queue its role may send to.
RULE_QUEUES = {"ingest-queue": "IngestQueue", "retry-queue": "RetryQueue", "dead-letter-queue": "RetryDeadLetterQueue"}


def iot(stage: Stage, rules: list[iot_rules.Rule]) -> dict:
    out = {}
    needs = set().union(set(), *(r.needs for r in rules))
    for rule in rules:
        out[rule.logical_id()] = {"Type": "AWS::IoT::TopicRule", "Properties": {
            "RuleName": iot_rules.rule_name(rule, stage.name), "TopicRulePayload": iot_rules.resolve(rule.payload)}}
    if "role" in needs:
        statements = []
        queues_used = [_att(queue, "Arn") for need, queue in RULE_QUEUES.items() if need in needs]
        if queues_used:
            statements.append({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queues_used})
        if "log-group" in needs:
            statements.append({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                               "Resource": _att("IotRuleErrorLogGroup", "Arn")})
        role = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": _assume("iot.amazonaws.com", source_account=True)}}
        if statements:
            role["Properties"]["Policies"] = [{"PolicyName": "RuleActions", "PolicyDocument": _doc(statements)}]
        out["IotRuleActionRole"] = role
    if "log-group" in needs:
        out["IotRuleErrorLogGroup"] = {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": f"/aws/iot/{stage.prefix}/rule-errors",
            "RetentionInDays": stage.function_setting("api_handler", "log_retention_in_days", 30)}}
    out["IotCustomAuthorizer"] = {"Type": "AWS::IoT::Authorizer", "Properties": {
        "AuthorizerName": stage.authorizer_name,
        "AuthorizerFunctionArn": _att(FUNCTIONS["iot_authorizer"], "Arn"),
        # MQTT username/password (Magistrala style): no token signature to verify.
        "SigningDisabled": True, "Status": "ACTIVE", "EnableCachingForHttp": False}}
    out["IotCustomAuthorizerInvokePermission"] = {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": _ref(FUNCTIONS["iot_authorizer"]),
        "Principal": "iot.amazonaws.com", "SourceArn": _att("IotCustomAuthorizer", "Arn")}}
    return out


# -- dashboard -----------------------------------------------------------------------------------


def dashboard(stage: Stage) -> dict:
    bucket_arn = _att("DashboardBucket", "Arn")
    objects = _sub("${DashboardBucket.Arn}/*")
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
           "font-src 'self'; connect-src 'self' https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
           " wss://${IotDataEndpoint}; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
           "form-action 'self'")
    return {
        "DashboardBucket": {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "IgnorePublicAcls": True,
                "BlockPublicPolicy": _if("UseWebsite", False, True),
                "RestrictPublicBuckets": _if("UseWebsite", False, True)},
            # The dashboard routes with the URL hash: no error-page rewriting, a missing file is a 404.
            "WebsiteConfiguration": _if("UseWebsite", {"IndexDocument": "index.html"}, NO_VALUE)}},
        "DashboardBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": _ref("DashboardBucket"),
            "PolicyDocument": _doc([
                _if("UseCloudFront",
                    {"Sid": "CloudFrontReadsThroughOac", "Effect": "Allow",
                     "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                     "Resource": objects,
                     "Condition": {"StringEquals": {"AWS:SourceArn": _sub(
                         "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${DashboardCdn}")}}},
                    {"Sid": "PublicWebsiteRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": objects}),
                _if("UseCloudFront",
                    {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": [bucket_arn, objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                    NO_VALUE),
            ])}},
        "DashboardOac": {"Type": "AWS::CloudFront::OriginAccessControl", "Condition": "UseCloudFront",
                         "Properties": {"OriginAccessControlConfig": {
                             "Name": f"{stage.prefix}-dashboard", "OriginAccessControlOriginType": "s3",
                             "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
        "DashboardHeaders": {"Type": "AWS::CloudFront::ResponseHeadersPolicy", "Condition": "UseCloudFront",
                             "Properties": {"ResponseHeadersPolicyConfig": {
                                 "Name": f"{stage.prefix}-dashboard",
                                 "SecurityHeadersConfig": {
                                     "ContentSecurityPolicy": {"ContentSecurityPolicy": _sub(csp), "Override": True},
                                     "StrictTransportSecurity": {"AccessControlMaxAgeSec": 63072000,
                                                                 "IncludeSubdomains": True, "Override": True},
                                     "ContentTypeOptions": {"Override": True},
                                     "FrameOptions": {"FrameOption": "DENY", "Override": True},
                                     "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin",
                                                        "Override": True}}}}},
        "DashboardCdn": {"Type": "AWS::CloudFront::Distribution", "Condition": "UseCloudFront", "Properties": {
            "DistributionConfig": {
                "Enabled": True, "Comment": f"{stage.prefix} dashboard", "DefaultRootObject": "index.html",
                "HttpVersion": "http2and3", "IPV6Enabled": True, "PriceClass": "PriceClass_100",
                "Origins": [{"Id": "dashboard", "DomainName": _att("DashboardBucket", "RegionalDomainName"),
                             "S3OriginConfig": {"OriginAccessIdentity": ""},
                             "OriginAccessControlId": _att("DashboardOac", "Id")}],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "dashboard", "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": ["GET", "HEAD"], "CachedMethods": ["GET", "HEAD"], "Compress": True,
                    "CachePolicyId": CACHING_OPTIMIZED, "ResponseHeadersPolicyId": _ref("DashboardHeaders")},
                "ViewerCertificate": {"CloudFrontDefaultCertificate": True}}}},
    }


# -- alarms ------------------------------------------------------------------------------------------


def _alarm(description, namespace, metric, dimensions, statistic="Sum", threshold=0, period=300,
           comparison="GreaterThanThreshold"):
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, "Namespace": namespace, "MetricName": metric,
        "Dimensions": dimensions, "Statistic": statistic, "Period": period, "EvaluationPeriods": 1,
        "Threshold": threshold, "ComparisonOperator": comparison, "TreatMissingData": "notBreaching",
        "AlarmActions": [_ref("AlarmTopic")], "OKActions": [_ref("AlarmTopic")]}}


def alarms(stage: Stage) -> dict:
    out = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{stage.prefix}-alarms"}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail", "Properties": {
            "TopicArn": _ref("AlarmTopic"), "Protocol": "email", "Endpoint": _ref("AlarmEmail")}},
        "DeadLetterQueueNotEmptyAlarm": _alarm(
            "Messages the ingest or retry function gave up on: inspect and redrive them (see DEPLOY.md)", "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": _att("RetryDeadLetterQueue", "QueueName")}],
            statistic="Maximum", period=60),
        "RetryBacklogAlarm": _alarm(
            "The retry queue has held a message for over 15 minutes: a store is still failing",
            "AWS/SQS", "ApproximateAgeOfOldestMessage",
            [{"Name": "QueueName", "Value": _att("RetryQueue", "QueueName")}],
            statistic="Maximum", threshold=900, period=300),
        "IngestBacklogAlarm": _alarm(
            "The ingest queue has held a message for over 5 minutes: ingestion is not keeping up or a batch "
            "keeps failing (after 5 receives it is dead-lettered)",
            "AWS/SQS", "ApproximateAgeOfOldestMessage",
            [{"Name": "QueueName", "Value": _att("IngestQueue", "QueueName")}],
            statistic="Maximum", threshold=INGEST_BACKLOG_SECONDS, period=60),
        "IngestThrottlesAlarm": _alarm(
            "ingest hit its reserved concurrency: batches wait in the ingest queue, raise it if this persists",
            "AWS/Lambda", "Throttles", [{"Name": "FunctionName", "Value": _ref(FUNCTIONS["ingest"])}]),
    }
    for function, logical in FUNCTIONS.items():
        out[f"{logical}ErrorsAlarm"] = _alarm(
            f"{function} failed (unhandled errors or timeouts)", "AWS/Lambda", "Errors",
            [{"Name": "FunctionName", "Value": _ref(logical)}])
    return out


# -- outputs and helpers ------------------------------------------------------------------------------


def outputs(stage: Stage) -> dict:
    return {
        "ApiUrl": {"Description": "The API (what the dashboard and clients call)",
                   "Value": _sub("https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api")},
        "DashboardBucketName": {"Value": _ref("DashboardBucket")},
        "DashboardUrl": {"Value": _if("UseCloudFront", _sub("https://${DashboardCdn.DomainName}"),
                                      _att("DashboardBucket", "WebsiteURL"))},
        "DashboardDistributionId": {"Value": _if("UseCloudFront", _ref("DashboardCdn"), "")},
        "BackupTableName": {"Value": _ref("BackupTable")},
        "IngestQueueUrl": {"Value": _ref("IngestQueue")},
        "RetryQueueUrl": {"Value": _ref("RetryQueue")},
        "DeadLetterQueueUrl": {"Value": _ref("RetryDeadLetterQueue")},
        "AlarmTopicArn": {"Value": _ref("AlarmTopic")},
        "MigrateFunctionName": {"Value": _ref(FUNCTIONS["migrate"])},
        "IotAuthorizerName": {"Value": _ref("IotCustomAuthorizer")},
        "DatabaseEndpoint": {"Value": _if("CreateDb", _att("DbProxy", "Endpoint"), _ref("ExistingDbHost"))},
        "JwtSecretArn": {"Value": _ref("JwtSecret")},
        "DataKeySecretArn": {"Value": _ref("DataKeySecret")},
    }


def _doc(statements):
    return {"Version": "2012-10-17", "Statement": statements}


def _assume(service, source_account=False):
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}}
    return _doc([statement])


def merge_template(stage: Stage, rules: list[iot_rules.Rule] | None = None) -> dict:
    rules = iot_rules.load_rules() if rules is None else rules
    resources = {}
    for part in (backup_table(stage), queues(stage), secrets(stage), database(stage), vpc_endpoints(stage),
                 function_overrides(stage), extra_policies(stage), iot(stage, rules),
                 dashboard(stage), alarms(stage)):
        resources.update(part)
    return {
        "Description": f"{stage.prefix}: Magistrala-compatible IoT platform (Chalice app + resources)",
        "Parameters": parameters(),
        "Conditions": conditions(),
        "Rules": rules_section(),
        "Resources": resources,
        "Outputs": outputs(stage),
    }
