"""Compare PostgreSQL with the backup and repair drift in either direction.

verify: per channel and time range, the message ids each store holds; and every user,
thing, channel and connection. repair: copies what is missing either way (entities are
re-synced from PostgreSQL, or restored into it from the backup when PostgreSQL lost them).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.backup import items
from chalicelib.backup.sync import EntitySync, channel_key, connection_key, thing_key, user_key
from chalicelib.entities import Channel, Connection, Thing, User
from chalicelib.security import thing_keys

_FAR_FUTURE = 10**13  # seconds: after any storable time (SenML times end with the year 9999)


@dataclass
class Drift:
    only_in_postgres: list[str] = field(default_factory=list)
    only_in_backup: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.only_in_postgres) + len(self.only_in_backup)


@dataclass
class Report:
    since: float
    until: float
    messages: dict[str, Drift] = field(default_factory=dict)  # "<table>#<channel>" -> drift
    entities: Drift = field(default_factory=Drift)
    # What was compared, so that "no drift" can be told apart from "nothing looked at".
    checked: dict[str, int] = field(default_factory=lambda: {"channels": 0, "messages": 0, "entities": 0})

    @property
    def total(self) -> int:
        return self.entities.count + sum(d.count for d in self.messages.values())

    def summary(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "drift": self.total, "checked": dict(self.checked),
                "entities": asdict(self.entities),
                "messages": {k: asdict(v) for k, v in self.messages.items() if v.count}}


class BackupVerifier:
    def __init__(self, db: Any, primary: Any, backup: Any, writer: Any) -> None:
        self.db = db
        self.primary = primary
        self.backup = backup
        self.writer = writer
        self.syncer = EntitySync(primary, backup)

    # -- verify ----------------------------------------------------------------

    def verify(self, since: float = 0, until: float = _FAR_FUTURE, channel: str | None = None) -> Report:
        report = Report(since=since, until=until)
        channels = [channel] if channel else sorted(self._pg_channels() | self._backup_channels())
        report.checked["channels"] = len(channels)
        low, high = items.message_sort_key(since, ""), items.message_sort_key(until, "~")
        for ch in channels:
            for table, prefix, column in (("messages", "msgs", "time"), ("json_messages", "json", "created")):
                pg = self._pg_message_ids(table, column, ch, since, until)
                bk = {i["id"] for i in self.backup.query(f"{prefix}#{ch}", sk_between=(low, high))}
                drift = Drift(sorted(pg - bk), sorted(bk - pg))
                report.checked["messages"] += len(pg | bk)
                if drift.count:
                    report.messages[f"{table}#{ch}"] = drift
        if channel is None:
            pg_entities, bk_entities = self._pg_entities(), self._backup_entities()
            report.checked["entities"] = len(pg_entities.keys() | bk_entities.keys())
            report.entities = Drift(
                sorted(k for k, v in pg_entities.items() if bk_entities.get(k) != v),
                sorted(k for k in bk_entities if k not in pg_entities),
            )
        return report

    def _pg_channels(self) -> set[str]:
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT DISTINCT channel FROM messages UNION SELECT DISTINCT channel FROM"
                                " json_messages UNION SELECT id FROM channels").fetchall()
        return {str(r["channel"]) for r in rows}

    def _backup_channels(self) -> set[str]:
        found = set()
        for item in self.backup.scan():
            if item.get("kind") in ("senml", "json", "channel"):
                found.add(item.get("channel") or item.get("id"))
        return found

    def _pg_message_ids(self, table: str, column: str, channel: str, since: float, until: float) -> set[str]:
        with self.db.transaction() as conn:
            rows = conn.execute(f"SELECT id FROM {table} WHERE channel = %s AND {column} BETWEEN %s AND %s",
                                (channel, since, until)).fetchall()
        return {str(r["id"]) for r in rows}

    def _pg_entities(self) -> dict[str, str]:
        """entity key -> version (updated_at) as the backup would hold it."""
        with self.db.transaction() as conn:
            found = {f"user#{r['id']}": items.version(r["updated_at"])
                     for r in conn.execute("SELECT id, updated_at FROM users")}
            found.update({f"thing#{r['id']}": items.version(r["updated_at"])
                          for r in conn.execute("SELECT id, updated_at FROM things")})
            found.update({f"channel#{r['id']}": items.version(r["updated_at"])
                          for r in conn.execute("SELECT id, updated_at FROM channels")})
            found.update({f"connection#{r['channel_id']}#{r['thing_id']}": ""
                          for r in conn.execute("SELECT channel_id, thing_id FROM connections")})
        return found

    def _backup_entities(self) -> dict[str, str]:
        found = {}
        for item in self.backup.scan():
            kind = item.get("kind")
            if kind in ("user", "thing", "channel"):
                found[f"{kind}#{item['id']}"] = item["updated_at"]
            elif kind == "connection" and item["pk"].startswith("channel#"):
                found[f"connection#{item['channel_id']}#{item['thing_id']}"] = ""
        return found

    # -- repair ----------------------------------------------------------------

    def repair(self, report: Report) -> dict[str, int]:
        copied = {"to_backup": 0, "to_postgres": 0}
        for key, drift in report.messages.items():
            table, channel = key.split("#", 1)
            if drift.only_in_postgres:
                rows = self._pg_rows(table, drift.only_in_postgres)
                self.backup.write_messages(*((rows, []) if table == "messages" else ([], rows)))
                copied["to_backup"] += len(rows)
            if drift.only_in_backup:
                prefix = "msgs" if table == "messages" else "json"
                wanted = set(drift.only_in_backup)
                found = [i for i in self.backup.query(f"{prefix}#{channel}") if i["id"] in wanted]
                if table == "messages":
                    self.writer.write([items.row_from_senml_item(i) for i in found], [])
                else:
                    self.writer.write([], [items.row_from_json_item(i) for i in found])
                copied["to_postgres"] += len(found)
        for key in report.entities.only_in_postgres:
            self.syncer.sync(_sync_key(key))
            copied["to_backup"] += 1
        # Owners before what they own, entities before their connections.
        order = {"user": 0, "channel": 1, "thing": 1, "connection": 2}
        for key in sorted(report.entities.only_in_backup, key=lambda k: order[k.split("#")[0]]):
            self._restore(key)
            copied["to_postgres"] += 1
        return copied

    def _pg_rows(self, table: str, ids: list[str]) -> list[dict]:
        with self.db.transaction() as conn:
            rows = conn.execute(f"SELECT * FROM {table} WHERE id = ANY(%s::uuid[])", (ids,)).fetchall()
        return [{k: (str(v) if k in ("id", "channel", "publisher") else v) for k, v in r.items()} for r in rows]

    def _restore(self, key: str) -> None:
        """Rebuild an entity PostgreSQL lost, from its backup item."""
        kind, _, rest = key.partition("#")
        if kind == "connection":
            channel_id, thing_id = rest.split("#")
            self.primary.connect([Connection(channel_id=channel_id, thing_id=thing_id)])
            return
        item = self.backup.get(f"{kind}#{rest}", kind)
        if item is None:
            return
        common = {"metadata": json.loads(item["metadata"]), "status": item["status"],
                  "created_at": datetime.fromisoformat(item["created_at"]),
                  "updated_at": datetime.fromisoformat(item["updated_at"])}
        if kind == "user":
            self.primary.save_user(User(id=item["id"], identity=item["identity"], secret_hash=item["secret_hash"],
                                        name=item["name"], tags=json.loads(item["tags"]), role=item["role"],
                                        **common))
        elif kind == "thing":
            key_plain = thing_keys.decrypt(self.backup.data_key, bytes.fromhex(item["key_enc"]))
            self.primary.save_things([Thing(id=item["id"], owner_id=item["owner_id"], key=key_plain,
                                            name=item["name"], identity=item["identity"],
                                            tags=json.loads(item["tags"]), **common)])
            for user_id, relation in json.loads(item.get("shares") or "{}").items():
                self.primary.share_thing(item["id"], [user_id], relation)
        elif kind == "channel":
            self.primary.save_channels([Channel(id=item["id"], owner_id=item["owner_id"], name=item["name"],
                                                description=item["description"], **common)])


def _sync_key(key: str) -> dict:
    kind, _, rest = key.partition("#")
    if kind == "connection":
        channel_id, thing_id = rest.split("#")
        return connection_key(channel_id, thing_id)
    return {"user": user_key, "thing": thing_key, "channel": channel_key}[kind](rest)
