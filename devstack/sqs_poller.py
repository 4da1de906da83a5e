"""Feeds the retry queue to the retry handler the way Lambda's SQS event source does:
batches of up to 10, the handler's batchItemFailures stay on the queue (visible again
after the visibility timeout), successes are deleted, and the queue's redrive policy
moves a message to the dead-letter queue after maxReceiveCount receives."""
from __future__ import annotations

import logging
import threading
import uuid

log = logging.getLogger("devstack.sqs")


class LambdaContext:
    function_name = "retry"
    memory_limit_in_mb = 512
    aws_request_id = ""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def to_lambda_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region,
    } for m in messages]}


class SqsPoller:
    def __init__(self, queue_url: str, handler, visibility_timeout: int | None = None, wait_seconds: int = 1):
        import boto3

        self.sqs = boto3.client("sqs")
        self.url = queue_url
        self.handler = handler  # the Chalice retry function: handler(event_dict, context)
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        attrs = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.arn = attrs["QueueArn"]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> tuple[int, int]:
        """One batch: returns (received, failed)."""
        params = {"QueueUrl": self.url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": self.wait_seconds,
                  "AttributeNames": ["All"]}
        if self.visibility_timeout is not None:
            params["VisibilityTimeout"] = self.visibility_timeout
        messages = self.sqs.receive_message(**params).get("Messages", [])
        if not messages:
            return 0, 0
        event = to_lambda_event(messages, self.arn, self.sqs.meta.region_name)
        try:
            result = self.handler(event, LambdaContext()) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - a crashed invocation fails the whole batch, as in Lambda
            log.exception("retry handler crashed; the whole batch will be retried")
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        return len(messages), len(failed)

    def drain(self, max_batches: int = 1000) -> int:
        """Poll until the queue yields nothing (tests); returns messages received."""
        total = 0
        for _ in range(max_batches):
            received, _failed = self.poll_once()
            if received == 0:
                return total
            total += received
        return total

    def start(self) -> None:
        def loop():
            while not self._stop.is_set():
                try:
                    self.poll_once()
                except Exception:  # noqa: BLE001 - keep polling, like the Lambda service does
                    log.exception("polling the retry queue failed")
                    self._stop.wait(2)
        self._thread = threading.Thread(target=loop, name="retry-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
