"""The SQS retry queue: what one store missed waits here until the retry Lambda replays it."""
from __future__ import annotations

import json
import logging

log = logging.getLogger("platform.retry")


# SendMessageBatch takes 10 messages and 256 KB in all (a message carries up to a 128 KB device
# payload, base64: 171 KB).
_BATCH_COUNT = 10
_BATCH_BYTES = 256 * 1024


class RetryQueueUnavailable(RuntimeError):
    pass


def _batches(bodies: list[str]):
    batch: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if batch and (len(batch) == _BATCH_COUNT or size + length > _BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(body)
        size += length
    if batch:
        yield batch


class RetryQueue:
    def __init__(self, queue_url: str) -> None:
        import boto3

        self.url = queue_url
        self.client = boto3.client("sqs")

    def enqueue(self, messages: list[dict]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        for bodies in _batches([json.dumps(m, default=str) for m in messages]):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
            try:
                result = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                raise RetryQueueUnavailable(f"retry queue unreachable: {exc}") from exc
            if result.get("Failed"):
                raise RetryQueueUnavailable(f"retry queue refused {len(result['Failed'])} messages")
        log.info("queued %d retry message(s)", len(messages))
