"""moto standing in for DynamoDB, SQS, S3 and the IoT registry, on a local port."""
from __future__ import annotations

import os
import time

BACKUP_TABLE = "choovio-backup"
RETRY_QUEUE = "choovio-retry"
INGEST_QUEUE = "choovio-ingest"
DEAD_LETTER_QUEUE = "choovio-retry-dlq"
MAX_RECEIVES = 5
# At least 6x the retry function's timeout, as AWS advises for SQS event sources.
VISIBILITY_TIMEOUT = 180


def start_moto(host: str = "127.0.0.1", port: int = 5000):
    from moto.server import ThreadedMotoServer

    _cheap_moto_sqs_clock()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def _cheap_moto_sqs_clock() -> None:
    """moto's SQS recomputes every message's visibility, with a slow datetime-based clock, several
    times per message sent or received: a queue a few hundred deep (a burst of device messages)
    made each receive take ~1 s. The same clock from time.time() is 10-20x faster (the moto server
    runs in this process)."""
    import moto.sqs.models as models

    models.unix_time = time.time
    models.unix_time_millis = lambda: time.time() * 1000.0


def use_endpoint(url: str) -> None:
    """Point every boto3 client in this process at the stand-in (boto3 reads AWS_ENDPOINT_URL).

    The stand-in takes any credentials; set fake ones so that real ones never reach it, and
    start a fresh default session so nothing resolved earlier in the process is reused."""
    import boto3

    os.environ["AWS_ENDPOINT_URL"] = url
    os.environ["AWS_ACCESS_KEY_ID"] = "local"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    boto3.setup_default_session()


def create_resources(prefix: str = "") -> dict[str, str]:
    """The backup table, the ingest and retry queues and their dead-letter queue; returns their env vars."""
    import boto3

    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    table = prefix + BACKUP_TABLE
    try:
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except dynamodb.exceptions.ResourceInUseException:
        pass
    dlq_url = sqs.create_queue(QueueName=prefix + DEAD_LETTER_QUEUE)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
        "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{MAX_RECEIVES}"}}',
    }
    queue_url = sqs.create_queue(QueueName=prefix + RETRY_QUEUE, Attributes=attributes)["QueueUrl"]
    ingest_url = sqs.create_queue(QueueName=prefix + INGEST_QUEUE, Attributes=attributes)["QueueUrl"]
    return {"BACKUP_TABLE": table, "RETRY_QUEUE_URL": queue_url, "DEAD_LETTER_QUEUE_URL": dlq_url,
            "INGEST_QUEUE_URL": ingest_url}
