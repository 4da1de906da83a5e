"""PostgreSQL store: the source of truth for users, things, channels and connections.

Every method is one transaction. Writes take whole entities and return what was
written, so a wrapper (the DynamoDB backup) can mirror exactly that.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from chalicelib.entities import Channel, Connection, ListQuery, Page, Thing, User
from chalicelib.errors import Conflict
from chalicelib.security import thing_keys
from chalicelib.store.db import Database

_USER_COLS = "id, name, identity, secret_hash, tags, metadata, role, status, created_at, updated_at"
_THING_COLS = "t.id, t.owner_id, t.name, t.identity, t.key_enc, t.tags, t.metadata, t.status, t.created_at, t.updated_at"
_CHANNEL_COLS = "c.id, c.owner_id, c.name, c.description, c.metadata, c.status, c.created_at, c.updated_at"
_MAX_BIGINT = 2**63 - 1
_FEW = 5000  # matches of a GIN-indexed filter that are cheaper to collect and sort than to find in order


def _like(text: str) -> str:
    """A case-insensitive substring pattern with LIKE's metacharacters escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Filters:
    """Collects WHERE clauses and their parameters for the list queries."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []
        self.indexed = False  # a filter a GIN index answers (tag, metadata)
        self.scan = False  # a filter no index answers (substring of name or identity)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def common(self, alias: str, query: ListQuery, with_tags: bool = True) -> None:
        if query.name:
            self.add(f"{alias}.name ILIKE %s", _like(query.name))
            self.scan = True
        if query.metadata:
            self.add(f"{alias}.metadata @> %s", Jsonb(query.metadata))
            self.indexed = True
        if query.tag and with_tags:
            # Containment (not "= ANY") so that the GIN index on tags can answer it.
            self.add(f"{alias}.tags @> ARRAY[%s]::text[]", query.tag)
            self.indexed = True
        if query.status != "all":
            self.add(f"{alias}.status = %s", query.status)

    @property
    def where(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def _unique_violation(exc: psycopg.errors.UniqueViolation, what: str) -> Conflict:
    return Conflict(f"{what} already exists")


class PostgresStore:
    def __init__(self, db: Database, data_key: str) -> None:
        self.db = db
        self.data_key = data_key

    # -- users -----------------------------------------------------------

    def _user(self, row: dict) -> User:
        return User(
            id=str(row["id"]),
            name=row["name"],
            identity=row["identity"],
            secret_hash=row["secret_hash"],
            tags=list(row["tags"]),
            metadata=row["metadata"],
            role=row["role"],
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def save_user(self, user: User) -> User:
        """Insert or update the whole user row."""
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO users ({_USER_COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT (id) DO UPDATE SET name=EXCLUDED.name, identity=EXCLUDED.identity,"
                    " secret_hash=EXCLUDED.secret_hash, tags=EXCLUDED.tags, metadata=EXCLUDED.metadata,"
                    " role=EXCLUDED.role, status=EXCLUDED.status, updated_at=EXCLUDED.updated_at",
                    (user.id, user.name, user.identity, user.secret_hash, user.tags,
                     Jsonb(user.metadata), user.role, user.status, user.created_at, user.updated_at),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise _unique_violation(exc, "a user with this identity") from None
        return user

    def get_user(self, user_id: str) -> User | None:
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_USER_COLS} FROM users WHERE id = %s", (user_id,)).fetchone()
        return self._user(row) if row else None

    def get_user_by_identity(self, identity: str) -> User | None:
        with self.db.transaction() as conn:
            row = conn.execute(
                f"SELECT {_USER_COLS} FROM users WHERE lower(identity) = lower(%s)", (identity,)
            ).fetchone()
        return self._user(row) if row else None

    def list_users(self, query: ListQuery, only_id: str | None = None) -> Page[User]:
        f = _Filters()
        f.common("u", query)
        if query.identity:
            f.add("u.identity ILIKE %s", _like(query.identity))
            f.scan = True
        if only_id:
            f.add("u.id = %s", only_id)
        return self._page("users", "u." + _USER_COLS.replace(", ", ", u."), "u",
                          [(f"FROM users u WHERE {f.where}", f.params)], query, self._user, f)

    def _page(self, table: str, cols: str, alias: str, branches: list[tuple[str, list]], query: ListQuery,
              build, f: _Filters) -> Page:
        """One page, newest first, and the total, read the cheapest way the filters allow.

        `branches` are disjoint "FROM ... WHERE ..." fragments over `alias` whose union is the result.
        Only the ids of the page are searched for; the page's rows are then read whole by id.

        - No filter beyond owner/status (or channel): each branch walks its index in order and stops
          after offset + limit ids; the total is a count, run only when the page does not tell it.
        - A GIN-indexed filter (tag, metadata): the count comes first and picks the plan. Walking in
          order is fast when matches are many, but reads nearly every row when a few sit far back,
          so up to _FEW matches are collected through the GIN index and sorted (OFFSET 0 keeps the
          planner from walking).
        - Only an unindexed filter (name substring): every row of the branch is read anyway, so one
          pass finds the matches, counts them (a window over ids only) and sorts the page.
        (A count(*) OVER () over whole rows would read and sort every match on every page.)
        """
        a = alias
        enough = min(query.offset + query.limit, _MAX_BIGINT)
        count = " + ".join(f"(SELECT count(*) {frm})" for frm, _ in branches)
        count_params = [p for _, b in branches for p in b]
        paging = [query.limit, query.offset]
        fetch = (f"SELECT {cols}{{extra}} FROM {table} {a} JOIN ({{ids}}) page ON page.id = {a}.id"
                 f" ORDER BY {a}.created_at DESC, {a}.id")
        total = None
        with self.db.transaction() as conn:
            if f.scan and not f.indexed:
                union = " UNION ALL ".join(f"(SELECT {a}.id, {a}.created_at {frm})" for frm, _ in branches)
                ids = (f"SELECT v.id, count(*) OVER () AS _total FROM ({union}) v"
                       f" ORDER BY v.created_at DESC, v.id LIMIT %s OFFSET %s")
                rows = conn.execute(fetch.format(extra=", page._total", ids=ids), [*count_params, *paging]).fetchall()
                if rows:
                    total = rows[0]["_total"]
            else:
                if f.indexed:
                    total = conn.execute(f"SELECT {count} AS n", count_params).fetchone()["n"]
                    if total == 0 or query.offset >= total:
                        return Page(total=total, offset=query.offset, limit=query.limit, items=[])
                few = total is not None and total <= _FEW
                union = " UNION ALL ".join(
                    f"(SELECT x.id, x.created_at FROM (SELECT {a}.id, {a}.created_at {frm} OFFSET 0) x"
                    f" ORDER BY x.created_at DESC, x.id LIMIT %s)" if few else
                    f"(SELECT {a}.id, {a}.created_at {frm} ORDER BY {a}.created_at DESC, {a}.id LIMIT %s)"
                    for frm, _ in branches
                )
                ids = f"SELECT v.id FROM ({union}) v ORDER BY v.created_at DESC, v.id LIMIT %s OFFSET %s"
                params = [p for _, branch in branches for p in (*branch, enough)]
                rows = conn.execute(fetch.format(extra="", ids=ids), [*params, *paging]).fetchall()
            if total is None:
                if 0 < len(rows) < query.limit or (not rows and query.offset == 0):
                    total = query.offset + len(rows)  # the matches end on this page
                else:
                    total = conn.execute(f"SELECT {count} AS n", count_params).fetchone()["n"]
        return Page(total=total, offset=query.offset, limit=query.limit, items=[build(r) for r in rows])

    # -- things ----------------------------------------------------------

    def _thing(self, row: dict) -> Thing:
        return Thing(
            id=str(row["id"]),
            owner_id=str(row["owner_id"]),
            key=thing_keys.decrypt(self.data_key, row["key_enc"]),
            name=row["name"],
            identity=row["identity"],
            tags=list(row["tags"]),
            metadata=row["metadata"],
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def _thing_params(self, t: Thing) -> tuple:
        return (
            t.id, t.owner_id, t.name, t.identity,
            thing_keys.lookup_hash(self.data_key, t.key), thing_keys.encrypt(self.data_key, t.key),
            t.tags, Jsonb(t.metadata), t.status, t.created_at, t.updated_at,
        )

    def save_things(self, things: list[Thing]) -> list[Thing]:
        """Insert or update whole things, all or none."""
        try:
            with self.db.transaction() as conn, conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO things (id, owner_id, name, identity, key_hash, key_enc, tags, metadata,"
                    " status, created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                    " ON CONFLICT (id) DO UPDATE SET name=EXCLUDED.name, identity=EXCLUDED.identity,"
                    " key_hash=EXCLUDED.key_hash, key_enc=EXCLUDED.key_enc, tags=EXCLUDED.tags,"
                    " metadata=EXCLUDED.metadata, status=EXCLUDED.status, updated_at=EXCLUDED.updated_at"
                    # An upsert never takes over another owner's row (a racing create with a taken id).
                    " WHERE things.owner_id = EXCLUDED.owner_id",
                    [self._thing_params(t) for t in things],
                )
                if cur.rowcount != len(things):
                    raise Conflict("a thing with this id already exists")
        except psycopg.errors.UniqueViolation as exc:
            raise _unique_violation(exc, "a thing with this key") from None
        return things

    def get_thing(self, thing_id: str) -> Thing | None:
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_THING_COLS} FROM things t WHERE t.id = %s", (thing_id,)).fetchone()
        return self._thing(row) if row else None

    def get_thing_by_key(self, key: str) -> Thing | None:
        digest = thing_keys.lookup_hash(self.data_key, key)
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_THING_COLS} FROM things t WHERE t.key_hash = %s", (digest,)).fetchone()
        return self._thing(row) if row else None

    def thing_relation(self, thing_id: str, user_id: str) -> str | None:
        """'owner', a share relation, or None."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT CASE WHEN t.owner_id = %(u)s THEN 'owner' ELSE s.relation END AS rel"
                " FROM things t LEFT JOIN thing_shares s ON s.thing_id = t.id AND s.user_id = %(u)s"
                " WHERE t.id = %(t)s",
                {"u": user_id, "t": thing_id},
            ).fetchone()
        return row["rel"] if row else None

    def list_things(self, query: ListQuery, viewer: str | None,
                    channel_id: str | None = None, connected: bool = True) -> Page[Thing]:
        """Things `viewer` may see (None: all), optionally those (not) connected to a channel."""
        f = _Filters()
        f.common("t", query)
        if channel_id is not None:
            exists = "EXISTS" if connected else "NOT EXISTS"
            f.add(f"{exists} (SELECT 1 FROM connections k WHERE k.thing_id = t.id AND k.channel_id = %s)",
                  channel_id)
        if viewer is None:
            branches = [(f"FROM things t WHERE {f.where}", f.params)]
        else:
            # Owned and shared things as two branches that each use an index; "owner = me OR shared
            # with me" in one WHERE would make PostgreSQL read every thing of every user.
            branches = [
                (f"FROM things t WHERE t.owner_id = %s AND {f.where}", [viewer, *f.params]),
                (f"FROM things t JOIN thing_shares s ON s.thing_id = t.id"
                 f" WHERE s.user_id = %s AND t.owner_id <> %s AND {f.where}", [viewer, viewer, *f.params]),
            ]
        return self._page("things", _THING_COLS, "t", branches, query, self._thing, f)

    def delete_thing(self, thing_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM things WHERE id = %s", (thing_id,))

    def share_thing(self, thing_id: str, user_ids: Iterable[str], relation: str) -> None:
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO thing_shares (thing_id, user_id, relation, created_at) VALUES (%s, %s, %s, now())"
                " ON CONFLICT (thing_id, user_id) DO UPDATE SET relation = EXCLUDED.relation",
                [(thing_id, u, relation) for u in user_ids],
            )

    def unshare_thing(self, thing_id: str, user_ids: Iterable[str]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM thing_shares WHERE thing_id = %s AND user_id = ANY(%s)", (thing_id, list(user_ids))
            )

    def thing_shares(self, thing_id: str) -> dict[str, str]:
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT user_id, relation FROM thing_shares WHERE thing_id = %s",
                                (thing_id,)).fetchall()
        return {str(r["user_id"]): r["relation"] for r in rows}

    def existing_user_ids(self, user_ids: Iterable[str]) -> set[str]:
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT id FROM users WHERE id = ANY(%s::uuid[])", (list(user_ids),)).fetchall()
        return {str(r["id"]) for r in rows}

    # -- channels --------------------------------------------------------

    def _channel(self, row: dict) -> Channel:
        return Channel(
            id=str(row["id"]),
            owner_id=str(row["owner_id"]),
            name=row["name"],
            description=row["description"],
            metadata=row["metadata"],
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def save_channels(self, channels: list[Channel]) -> list[Channel]:
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO channels (id, owner_id, name, description, metadata, status, created_at, updated_at)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE SET name=EXCLUDED.name,"
                " description=EXCLUDED.description, metadata=EXCLUDED.metadata, status=EXCLUDED.status,"
                " updated_at=EXCLUDED.updated_at WHERE channels.owner_id = EXCLUDED.owner_id",
                [(c.id, c.owner_id, c.name, c.description, Jsonb(c.metadata), c.status, c.created_at,
                  c.updated_at) for c in channels],
            )
            if cur.rowcount != len(channels):
                raise Conflict("a channel with this id already exists")
        return channels

    def get_channel(self, channel_id: str) -> Channel | None:
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_CHANNEL_COLS} FROM channels c WHERE c.id = %s", (channel_id,)).fetchone()
        return self._channel(row) if row else None

    def list_channels(self, query: ListQuery, viewer: str | None,
                      thing_id: str | None = None, connected: bool = True) -> Page[Channel]:
        f = _Filters()
        f.common("c", query, with_tags=False)
        if viewer is not None:
            f.add("c.owner_id = %s", viewer)
        if thing_id is not None:
            exists = "EXISTS" if connected else "NOT EXISTS"
            f.add(f"{exists} (SELECT 1 FROM connections k WHERE k.channel_id = c.id AND k.thing_id = %s)",
                  thing_id)
        return self._page("channels", _CHANNEL_COLS, "c", [(f"FROM channels c WHERE {f.where}", f.params)], query,
                          self._channel, f)

    def delete_channel(self, channel_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM channels WHERE id = %s", (channel_id,))

    # -- connections -----------------------------------------------------

    def connect(self, connections: list[Connection]) -> list[Connection]:
        """Idempotent: connecting twice is not an error."""
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO connections (channel_id, thing_id, created_at) VALUES (%s, %s, now())"
                " ON CONFLICT DO NOTHING",
                [(c.channel_id, c.thing_id) for c in connections],
            )
        return connections

    def disconnect(self, connections: list[Connection]) -> list[Connection]:
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "DELETE FROM connections WHERE channel_id = %s AND thing_id = %s",
                [(c.channel_id, c.thing_id) for c in connections],
            )
        return connections

    def publish_checks(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[bool, bool, bool]]:
        """(thing enabled, channel enabled, connected) per (channel, thing) pair, in one round trip
        for a whole ingestion batch."""
        if not pairs:
            return {}
        channels, things = zip(*pairs)
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT p.c::text AS channel_id, p.t::text AS thing_id, t.status AS thing, c.status AS channel,"
                " x.thing_id IS NOT NULL AS connected"
                " FROM unnest(%s::uuid[], %s::uuid[]) AS p (c, t)"
                " LEFT JOIN things t ON t.id = p.t LEFT JOIN channels c ON c.id = p.c"
                " LEFT JOIN connections x ON x.channel_id = p.c AND x.thing_id = p.t",
                [list(channels), list(things)],
            ).fetchall()
        return {(r["channel_id"], r["thing_id"]): (r["thing"] == "enabled", r["channel"] == "enabled", r["connected"])
                for r in rows}

    def is_connected(self, channel_id: str, thing_id: str) -> bool:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM connections WHERE channel_id = %s AND thing_id = %s", (channel_id, thing_id)
            ).fetchone()
        return row is not None
