"""Backup health for administrators: retry-queue depth, dead letters, verification."""
from __future__ import annotations

from typing import Any

from chalicelib.entities import User
from chalicelib.errors import Forbidden, NotFound


class BackupAdmin:
    def __init__(self, verifier: Any | None, dead_letters: Any | None, results: Any) -> None:
        self.verifier = verifier
        self.dead_letters = dead_letters
        self.results = results  # VerificationLog

    def _check(self, caller: User) -> None:
        if not caller.is_admin:
            raise Forbidden("only administrators can see backup health")
        if self.verifier is None or self.dead_letters is None:
            raise NotFound("the backup is not configured on this deployment")

    def health(self, caller: User) -> dict:
        self._check(caller)
        return {
            "retry_queue_depth": self.dead_letters.depth(self.dead_letters.queue_url),
            "dead_letter_depth": self.dead_letters.depth(),
            "dead_letters": self.dead_letters.peek(10),
            "last_verify": self.results.last(),
        }

    def redrive(self, caller: User) -> dict:
        self._check(caller)
        return {"redriven": self.dead_letters.redrive()}

    def verify(self, caller: User, since: float, until: float, repair: bool) -> dict:
        self._check(caller)
        report = self.verifier.verify(since, until)
        repaired = self.verifier.repair(report) if repair and report.total else None
        summary = report.summary()
        self.results.record(summary, repaired)
        return {**summary, "repaired": repaired}
