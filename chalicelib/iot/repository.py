"""PostgreSQL rows for device certificates (migrations/020_devices.sql). Never a private key."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.entities import now
from chalicelib.store.db import Database

ACTIVE = "active"
REVOKED = "revoked"
_COLS = "id, thing_id, certificate_id, certificate_arn, certificate_pem, issuer, status, created_at, revoked_at"


@dataclass
class CertificateRecord:
    id: str
    thing_id: str
    certificate_id: str
    certificate_arn: str
    certificate_pem: str
    issuer: str
    status: str = ACTIVE
    created_at: datetime = field(default_factory=now)
    revoked_at: datetime | None = None


def _record(row: dict) -> CertificateRecord:
    return CertificateRecord(
        id=str(row["id"]), thing_id=str(row["thing_id"]), certificate_id=row["certificate_id"],
        certificate_arn=row["certificate_arn"], certificate_pem=row["certificate_pem"], issuer=row["issuer"],
        status=row["status"], created_at=row["created_at"], revoked_at=row["revoked_at"],
    )


class CertificateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, rec: CertificateRecord) -> CertificateRecord:
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT INTO thing_certificates ({_COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (rec.id, rec.thing_id, rec.certificate_id, rec.certificate_arn, rec.certificate_pem, rec.issuer,
                 rec.status, rec.created_at, rec.revoked_at),
            )
        return rec

    def get(self, cert_id: str) -> CertificateRecord | None:
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_COLS} FROM thing_certificates WHERE id = %s", (cert_id,)).fetchone()
        return _record(row) if row else None

    def for_thing(self, thing_id: str, status: str | None = None) -> list[CertificateRecord]:
        sql = f"SELECT {_COLS} FROM thing_certificates WHERE thing_id = %s"
        params: list = [thing_id]
        if status:
            sql += " AND status = %s"
            params.append(status)
        with self.db.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY created_at DESC, id", params).fetchall()
        return [_record(r) for r in rows]

    def all_active(self) -> list[CertificateRecord]:
        with self.db.transaction() as conn:
            rows = conn.execute(f"SELECT {_COLS} FROM thing_certificates WHERE status = %s ORDER BY created_at",
                                (ACTIVE,)).fetchall()
        return [_record(r) for r in rows]

    def mark_revoked(self, cert_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE thing_certificates SET status = %s, revoked_at = %s WHERE id = %s AND status = %s",
                         (REVOKED, now(), cert_id, ACTIVE))

    def things_on_channels(self, channel_ids: list[str]) -> list[str]:
        """Things with an active certificate connected to any of these channels (their policies name them)."""
        if not channel_ids:
            return []
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT k.thing_id FROM connections k JOIN thing_certificates c ON c.thing_id = k.thing_id"
                " AND c.status = %s WHERE k.channel_id = ANY(%s::uuid[])", (ACTIVE, list(channel_ids))).fetchall()
        return [str(r["thing_id"]) for r in rows]
