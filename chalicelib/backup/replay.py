"""What the retry Lambda does with one SQS message. Raising means "try again later";
after the queue's maxReceiveCount the message moves to the dead-letter queue."""
from __future__ import annotations

import json
from typing import Any


class PoisonMessage(ValueError):
    """Not a message we know how to replay: goes to the dead-letter queue after its retries."""


class Replayer:
    def __init__(self, ingestor: Any, syncer: Any | None) -> None:
        self.ingestor = ingestor
        self.syncer = syncer

    def handle(self, body: str, sent_at_ms: int | None = None) -> str:
        try:
            message = json.loads(body)
        except ValueError:
            raise PoisonMessage("retry message is not JSON") from None
        if not isinstance(message, dict):
            raise PoisonMessage("retry message is not an object")
        if "requestPayload" in message:
            # Lambda on-failure destination record: the ingestion never completed; run it whole.
            return self.ingestor.ingest(message["requestPayload"]).status
        if "base64OriginalPayload" in message:
            # IoT rule error action: the rule could not invoke the ingestion Lambda.
            event = {"payload": message["base64OriginalPayload"], "topic": message.get("topic", ""),
                     "client_id": message.get("clientId", ""), "principal": message.get("principal", ""),
                     "received_at": sent_at_ms or 0}
            return self.ingestor.ingest(event).status
        kind = message.get("kind")
        if kind is None and "topic" in message and "payload" in message:
            # A topic rule event from the ingest queue, redriven from the shared dead-letter queue.
            return self.ingestor.ingest(message).status
        if kind == "ingest":
            # "event": one message, as queued before ingestion was batched.
            self.ingestor.replay(message["events"] if "events" in message else [message["event"]],
                                 message["target"])
            return "replayed"
        if kind == "sync" and self.syncer is not None:
            self.syncer.sync(message)
            return "synced"
        raise PoisonMessage(f"unknown retry message kind {kind!r}")
