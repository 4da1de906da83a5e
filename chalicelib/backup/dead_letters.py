"""Inspect and redrive the retry queue's dead-letter queue."""
from __future__ import annotations

import json
from typing import Any


class DeadLetters:
    def __init__(self, dlq_url: str, queue_url: str) -> None:
        import boto3

        self.sqs = boto3.client("sqs")
        self.dlq_url = dlq_url
        self.queue_url = queue_url

    def depth(self, url: str | None = None) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url or self.dlq_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def peek(self, limit: int = 10) -> list[dict[str, Any]]:
        """Look without consuming: messages become visible again at once."""
        got = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=min(limit, 10),
                                       VisibilityTimeout=0, AttributeNames=["All"]).get("Messages", [])
        return [{"id": m["MessageId"], "body": _short(m["Body"]),
                 "receives": int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                 "sent_at": int(m.get("Attributes", {}).get("SentTimestamp", 0))} for m in got]

    def redrive(self, limit: int = 1000) -> int:
        """Move messages back to the retry queue (after fixing what made them fail)."""
        moved = 0
        while moved < limit:
            got = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                           VisibilityTimeout=30).get("Messages", [])
            if not got:
                break
            self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(got)])
            self.sqs.delete_message_batch(QueueUrl=self.dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
            moved += len(got)
        return moved


def _short(body: str, limit: int = 2000) -> Any:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:limit]
    return parsed if len(body) <= limit else body[:limit]
