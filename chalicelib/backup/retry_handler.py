"""The retry Lambda's batch loop: Powertools' BatchProcessor reports partial failures,
so one bad message is retried (and eventually dead-lettered) without its batch mates."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

_processor = BatchProcessor(event_type=EventType.SQS)


def handle_batch(event: dict, context: Any, replayer: Any) -> dict:
    def record_handler(record: SQSRecord) -> str:
        sent = record.attributes.sent_timestamp
        return replayer.handle(record.body, int(sent) if sent else None)

    return process_partial_response(event=event, record_handler=record_handler, processor=_processor,
                                    context=context)
