"""CSV export: format=csv or Accept: text/csv; parsed back with the csv module."""
from __future__ import annotations

import json

import pytest

from chalicelib.messages import readers
from chalicelib.messages.readers import JSON_COLUMNS, SENML_COLUMNS
from chalicelib.store import messages_pg
from tests.readers.cases import dataset
from tests.readers.helpers import T0, get_text, insert, json_doc, path, read_csv, senml


@pytest.fixture
def rows(world, db):
    data = dataset(world.channel, world.thing["id"])
    insert(db, list(data.values()))
    return data


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("how", ["format", "accept"])
def test_csv_has_a_header_and_every_row_newest_first(api, world, rows, how):
    params, headers = ({"format": "csv"}, {}) if how == "format" else ({}, {"Accept": "text/csv"})
    r = get_text(api, path(world.channel, **params), world.owner.token, **headers)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f"{world.channel}-messages.csv" in r.headers["Content-Disposition"]
    assert r.text.splitlines()[0] == ",".join(SENML_COLUMNS)
    got = read_csv(r.text)
    want = sorted(rows.values(), key=lambda row: row["time"], reverse=True)
    assert len(got) == len(want) == 14  # no limit given: all of them, not a page of 10
    for line, row in zip(got, want):
        assert line == {c: _cell(row[c]) for c in SENML_COLUMNS}


def test_csv_applies_filters_and_an_explicit_page(api, world, rows):
    r = get_text(api, path(world.channel, format="csv", v=0, comparator="ge", limit=2, offset=1), world.owner.token)
    got = read_csv(r.text)
    assert [float(line["time"]) for line in got] == [rows["h0"]["time"], rows["t3"]["time"]]
    r = get_text(api, path(world.channel, format="csv", vb="false"), world.owner.token)
    assert [line["bool_value"] for line in read_csv(r.text)] == ["false"]


def test_csv_quotes_awkward_strings(api, world, db):
    nasty = 'a "quoted", multi\nline; value'
    insert(db, [senml(world.channel, world.thing["id"], T0, name="note", string_value=nasty)])
    (line,) = read_csv(get_text(api, path(world.channel, format="csv"), world.owner.token).text)
    assert line["string_value"] == nasty and line["value"] == ""


def test_csv_streams_in_chunks_and_returns_everything(api, world, db, monkeypatch):
    monkeypatch.setattr(messages_pg, "EXPORT_CHUNK", 100)
    insert(db, [senml(world.channel, world.thing["id"], T0 + i, value=float(i)) for i in range(2345)])
    got = read_csv(get_text(api, path(world.channel, format="csv"), world.owner.token).text)
    assert [float(line["value"]) for line in got] == [float(i) for i in reversed(range(2345))]


def test_chunks_come_from_a_server_side_cursor(world, db, monkeypatch):
    from chalicelib.messages.readers import MessageQuery
    from chalicelib.store.db import Database

    monkeypatch.setattr(messages_pg, "EXPORT_CHUNK", 10)
    insert(db, [senml(world.channel, world.thing["id"], T0 + i, value=float(i)) for i in range(35)])
    store = messages_pg.PostgresMessages(Database(db))
    chunks = list(store.export(world.channel, MessageQuery(), 1000))
    assert [len(c) for c in chunks] == [10, 10, 10, 5]


@pytest.mark.parametrize("count,truncated", [(49, False), (50, False), (51, True), (120, True)])
def test_export_without_limit_stops_at_the_cap(api, world, db, monkeypatch, count, truncated):
    monkeypatch.setattr(readers, "CSV_MAX_ROWS", 50)
    monkeypatch.setattr(messages_pg, "EXPORT_CHUNK", 7)
    insert(db, [senml(world.channel, world.thing["id"], T0 + i, value=float(i)) for i in range(count)])
    r = get_text(api, path(world.channel, format="csv"), world.owner.token)
    assert len(read_csv(r.text)) == min(count, 50)
    assert ("X-Truncated" in r.headers) is truncated
    # An explicit limit is a page, never "truncated".
    r = get_text(api, path(world.channel, format="csv", limit=10), world.owner.token)
    assert len(read_csv(r.text)) == min(count, 10) and "X-Truncated" not in r.headers


def test_json_documents_as_csv(api, world, db):
    doc = json_doc(world.channel, world.thing["id"], T0, {"temp": 21.5, "tags": ["a", "b"]}, subtopic="x.y")
    insert(db, json_rows=[doc])
    r = get_text(api, path(world.channel, format="json"), world.owner.token, Accept="text/csv")
    assert r.text.splitlines()[0] == ",".join(JSON_COLUMNS)
    (line,) = read_csv(r.text)
    assert json.loads(line["payload"]) == {"temp": 21.5, "tags": ["a", "b"]}
    assert (line["id"], line["subtopic"], float(line["created"])) == (doc["id"], "x.y", T0)


def test_empty_export_is_just_the_header(api, world):
    r = get_text(api, path(world.channel, format="csv"), world.owner.token)
    assert r.status_code == 200 and r.text == ",".join(SENML_COLUMNS) + "\r\n"


def test_csv_needs_the_same_authorization(api, world, rows):
    r = api.call("GET", path(world.channel, format="csv"))
    assert r.status_code == 401 and r.json["error"]
