"""The SQS retry queue: what one store missed waits here until the retry Lambda replays it."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("platform.retry")

# SQS takes 256 KB in one message, and in one SendMessageBatch of at most 10 messages. (A device
# payload is up to 128 KB, 171 KB in base64, so one always fits.)
MESSAGE_BYTES = 256 * 1024
_BATCH_COUNT = 10


class RetryQueueUnavailable(RuntimeError):
    pass


def grouped(items: list, size: Callable[[Any], int], max_bytes: int, max_count: int | None = None) -> Iterator[list]:
    """Consecutive groups of items, each within max_bytes (and max_count); an item bigger than
    max_bytes on its own makes a group of one."""
    group: list = []
    total = 0
    for item in items:
        length = size(item)
        if group and (len(group) == max_count or total + length > max_bytes):
            yield group
            group, total = [], 0
        group.append(item)
        total += length
    if group:
        yield group


def _batches(bodies: list[str]) -> Iterator[list[str]]:
    return grouped(bodies, lambda body: len(body.encode()), MESSAGE_BYTES, _BATCH_COUNT)


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
