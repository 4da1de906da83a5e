"""The SQS retry queue: what one store missed waits here until the retry Lambda replays it."""
from __future__ import annotations

import json
import logging

log = logging.getLogger("platform.retry")


class RetryQueueUnavailable(RuntimeError):
    pass


class RetryQueue:
    def __init__(self, queue_url: str) -> None:
        import boto3

        self.url = queue_url
        self.client = boto3.client("sqs")

    def enqueue(self, messages: list[dict]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        for start in range(0, len(messages), 10):  # SQS batches hold 10
            chunk = messages[start:start + 10]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m, default=str)} for i, m in enumerate(chunk)]
            try:
                result = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                raise RetryQueueUnavailable(f"retry queue unreachable: {exc}") from exc
            if result.get("Failed"):
                raise RetryQueueUnavailable(f"retry queue refused {len(result['Failed'])} messages")
        log.info("queued %d retry message(s)", len(messages))
