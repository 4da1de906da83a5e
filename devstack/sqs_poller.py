"""Feeds an SQS queue to a Chalice SQS handler the way Lambda's SQS event source does.

Batches of up to `batch_size` messages: receives of 10 (SQS's maximum) are repeated until the
batch is full, the queue gives nothing, or `window` seconds have passed since the first one
(Lambda's MaximumBatchingWindowInSeconds). The handler's batchItemFailures stay on the queue
(visible again after the visibility timeout), a handler that raises leaves the whole batch there,
the rest is deleted; the queue's redrive policy moves a message to the dead-letter queue after
maxReceiveCount receives. Each poller calls its handler from its own thread, one batch at a time.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

log = logging.getLogger("devstack.sqs")

# The ingest queue locally: app.INGEST_BATCH_SIZE messages at most, but a much shorter window
# than on AWS (app.INGEST_BATCH_WINDOW) so that the dashboard and the tests see messages quickly.
INGEST_WINDOW = 0.2


class LambdaContext:
    memory_limit_in_mb = 512
    aws_request_id = ""

    def __init__(self, function_name: str = "retry") -> None:
        self.function_name = function_name
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
    def __init__(self, queue_url: str, handler, visibility_timeout: int | None = None, wait_seconds: int = 1,
                 *, name: str = "retry", batch_size: int = 10, window: float = 0.0):
        import boto3

        self.sqs = boto3.client("sqs")
        self.url = queue_url
        self.handler = handler  # a Chalice SQS function: handler(event_dict, context)
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        self.name = name  # the Lambda function's name
        self.batch_size = batch_size
        self.window = window
        attrs = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.arn = attrs["QueueArn"]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _receive(self, wait: int, count: int) -> list[dict]:
        params = {"QueueUrl": self.url, "MaxNumberOfMessages": min(10, count), "WaitTimeSeconds": wait,
                  "AttributeNames": ["All"]}
        if self.visibility_timeout is not None:
            params["VisibilityTimeout"] = self.visibility_timeout
        return self.sqs.receive_message(**params).get("Messages", [])

    def receive_batch(self) -> list[dict]:
        messages = self._receive(self.wait_seconds, self.batch_size)
        if not messages:
            return []
        deadline = time.monotonic() + self.window
        while len(messages) < self.batch_size and time.monotonic() < deadline:
            more = self._receive(0, self.batch_size - len(messages))
            if not more:
                break
            messages += more
        return messages

    def poll_once(self) -> tuple[int, int]:
        """One batch: returns (received, failed)."""
        messages = self.receive_batch()
        if not messages:
            return 0, 0
        event = to_lambda_event(messages, self.arn, self.sqs.meta.region_name)
        try:
            result = self.handler(event, LambdaContext(self.name)) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - a crashed invocation fails the whole batch, as in Lambda
            log.exception("%s handler crashed; the whole batch will be retried", self.name)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):  # DeleteMessageBatch takes 10 at most
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i:i + 10])])
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

    def start(self) -> SqsPoller:
        def loop():
            while not self._stop.is_set():
                try:
                    self.poll_once()
                except Exception:  # noqa: BLE001 - keep polling, like the Lambda service does
                    log.exception("polling the %s queue failed", self.name)
                    self._stop.wait(2)
        self._stop.clear()
        self._thread = threading.Thread(target=loop, name=f"{self.name}-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self, drain: bool = False) -> None:
        """Returns once the batch in hand (if any) is handled, and with drain=True the queue is empty."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
            self._thread = None
        if drain:
            self.drain()


def ingest_poller(queue_url: str, app_module) -> SqsPoller:
    """The `ingest` function's event source on the ingest queue (not started)."""
    return SqsPoller(queue_url, app_module.ingest, wait_seconds=1, name="ingest",
                     batch_size=app_module.INGEST_BATCH_SIZE, window=INGEST_WINDOW)
