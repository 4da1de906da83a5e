"""Where password-reset mail goes: the log locally, Amazon SES in AWS (MAIL_SENDER=ses)."""
from __future__ import annotations

import logging
import os

log = logging.getLogger("platform.mail")


class LogMailSender:
    """Development transport: the mail is written to the log of the local stack."""

    def send(self, to: str, subject: str, body: str) -> None:
        log.warning("mail to %s: %s\n%s", to, subject, body)


class SesMailSender:
    def __init__(self, source: str) -> None:
        import boto3  # deferred: only this sender needs it

        self.source = source
        self.client = boto3.client("ses")

    def send(self, to: str, subject: str, body: str) -> None:
        self.client.send_email(
            Source=self.source,
            Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}},
        )


def mail_sender(kind: str):
    if kind == "ses":
        return SesMailSender(os.environ["MAIL_FROM"])
    return LogMailSender()
