"""ReaderService with fakes: authorization order and the fallback while PostgreSQL is down."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from chalicelib.errors import Forbidden, NotFound, Unauthenticated, Unavailable
from chalicelib.messages.readers import MessagePage, MessageQuery, ReadCredentials, ReaderService

CHANNEL = "11111111-1111-1111-1111-111111111111"


@dataclass
class Thing:
    id: str


class Fakes:
    def __init__(self) -> None:
        self.pg_up = True
        self.calls: list[str] = []
        self.rows = [{"time": float(i), "value": float(i)} for i in range(10, 0, -1)]
        self.export_closed = False
        self.failing: set[str] = set()  # calls that find PostgreSQL unreachable

    # users / channels / things / connections
    def authenticate(self, token):
        self._pg("authenticate")
        if token != "owner-token":
            raise Unauthenticated("bad token")
        return "owner"

    def view(self, caller, channel_id):
        if caller != "owner" or channel_id != CHANNEL:
            raise NotFound("channel not found")

    def identify(self, key):
        self._pg("identify")
        if key not in ("connected-key", "lonely-key"):
            raise Unauthenticated("invalid thing key")
        return Thing(id=key)

    def is_connected(self, channel_id, thing_id):
        return thing_id == "connected-key"

    # the PostgreSQL repository
    def read(self, channel_id, query):
        self._pg("read")
        return MessagePage(total=len(self.rows), messages=self.rows[query.offset:query.offset + query.limit])

    def export(self, channel_id, query, max_rows):
        self._pg("export")
        try:
            rows = self.rows[:max_rows]
            for i in range(0, len(rows), 3):
                yield rows[i:i + 3]
        finally:
            self.export_closed = True

    def _pg(self, what):
        self.calls.append(what)
        if not self.pg_up or what in self.failing:
            raise Unavailable("database unavailable")


class FakeBackup:
    def __init__(self) -> None:
        self.reads = 0

    def read(self, channel_id, query):
        self.reads += 1
        return MessagePage(total=1, messages=[{"time": 1.0, "value": 1.0}][: query.limit])

    def channel_access(self, channel_id, user_id):
        return channel_id == CHANNEL and user_id == "owner-id"


def _subject(token):
    if token == "owner-token":
        return "owner-id"
    if token == "stranger-token":
        return "stranger-id"
    raise Unauthenticated("invalid token")


@pytest.fixture
def fakes():
    return Fakes()


def _service(fakes, backup=None):
    return ReaderService(messages=fakes, users=fakes, channels=fakes, things=fakes, connections=fakes,
                         backup=backup, token_subject=_subject)


OWNER = ReadCredentials(user_token="owner-token")


@pytest.mark.parametrize("creds,error", [
    (OWNER, None),
    (ReadCredentials(user_token="stranger-token"), Unauthenticated),
    (ReadCredentials(thing_key="connected-key"), None),
    (ReadCredentials(thing_key="lonely-key"), Forbidden),
    (ReadCredentials(thing_key="unknown-key"), Unauthenticated),
    (ReadCredentials(), Unauthenticated),
])
def test_authorization(fakes, creds, error):
    service = _service(fakes)
    if error is None:
        assert service.read(creds, CHANNEL, MessageQuery()).total == 10
    else:
        with pytest.raises(error):
            service.read(creds, CHANNEL, MessageQuery())
        assert "read" not in fakes.calls  # refused before any message is read


def test_other_channel_is_404_for_the_owner(fakes):
    with pytest.raises(NotFound):
        _service(fakes).read(OWNER, "22222222-2222-2222-2222-222222222222", MessageQuery())


def test_without_a_backup_unavailable_propagates(fakes):
    fakes.pg_up = False
    with pytest.raises(Unavailable):
        _service(fakes).read(OWNER, CHANNEL, MessageQuery())


def test_fallback_while_down_then_back_to_postgres(fakes):
    backup = FakeBackup()
    service = _service(fakes, backup)
    fakes.pg_up = False
    page = service.read(OWNER, CHANNEL, MessageQuery())
    assert page.degraded and backup.reads == 1
    assert service.read(OWNER, CHANNEL, MessageQuery()).degraded and backup.reads == 2
    fakes.pg_up = True  # the next request goes to PostgreSQL again
    page = service.read(OWNER, CHANNEL, MessageQuery())
    assert not page.degraded and page.total == 10 and backup.reads == 2


@pytest.mark.parametrize("creds,error", [
    (ReadCredentials(thing_key="connected-key"), Unavailable),
    (ReadCredentials(user_token="stranger-token"), NotFound),
    (ReadCredentials(user_token="forged"), Unauthenticated),
])
def test_degraded_mode_accepts_only_the_owner_token(fakes, creds, error):
    backup = FakeBackup()
    fakes.pg_up = False
    with pytest.raises(error):
        _service(fakes, backup).read(creds, CHANNEL, MessageQuery())
    assert backup.reads == 0


def test_export_reads_chunks_and_closes_the_cursor_when_cut(fakes, monkeypatch):
    from chalicelib.messages import readers

    monkeypatch.setattr(readers, "CSV_MAX_ROWS", 4)
    export = _service(fakes).export(OWNER, CHANNEL, MessageQuery(csv=True))
    chunks = list(export.chunks)
    assert [len(c) for c in chunks] == [3, 1] and export.truncated and fakes.export_closed


def test_export_with_a_limit_is_a_page(fakes):
    export = _service(fakes).export(OWNER, CHANNEL, MessageQuery(csv=True, limit=5, limit_given=True))
    assert sum(len(c) for c in export.chunks) == 5 and not export.truncated


@pytest.mark.parametrize("failing", ["authenticate", "export"])
def test_export_falls_back_when_postgres_is_down(fakes, failing):
    backup = FakeBackup()
    fakes.failing = {failing}
    export = _service(fakes, backup).export(OWNER, CHANNEL, MessageQuery(csv=True))
    assert list(export.chunks) == [[{"time": 1.0, "value": 1.0}]] and export.degraded
