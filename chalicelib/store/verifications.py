"""Where verification results are kept (PostgreSQL)."""
from __future__ import annotations

from psycopg.types.json import Jsonb

from chalicelib.store.db import Database


class VerificationLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, summary: dict, repaired: dict | None) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO backup_verifications (drift, repaired, report) VALUES (%s, %s, %s)",
                         (summary["drift"], Jsonb(repaired) if repaired is not None else None, Jsonb(summary)))

    def last(self) -> dict | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT finished_at, drift, repaired, report FROM backup_verifications"
                               " ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return {"finished_at": row["finished_at"].isoformat(), "drift": row["drift"],
                "repaired": row["repaired"], "report": row["report"]}
