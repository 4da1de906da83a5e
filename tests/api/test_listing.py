"""Listing: filters, paging, ordering, connection views, bulk creation and every connection form."""
from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.api.helpers import assert_error


def _q(**params) -> str:
    return urllib.parse.urlencode(params)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def page(api, token, path, **params):
    r = api.call("GET", f"{path}?{_q(**params)}" if params else path, token=token)
    assert r.status_code == 200, r.json
    return r.json


def names(api, token, path="/things", **params) -> set[str]:
    body = page(api, token, path, limit=100, **params)
    key = [k for k in body if k not in ("total", "offset", "limit")][0]
    assert body["total"] == len(body[key])
    return {i["name"] for i in body[key]}


# -- filters --------------------------------------------------------------------------------------

@pytest.fixture
def catalogue(api, alice):
    t = alice.token
    made = {}
    for name, tags, metadata in (
        ("Kitchen Sensor", ["climate", "indoor"], {"floor": 1, "room": {"kind": "kitchen", "size": 12}}),
        ("kitchen light", ["light", "indoor"], {"floor": 1, "room": {"kind": "kitchen"}}),
        ("Garage door", ["door"], {"floor": 0, "model": "g-1"}),
        ("GARDEN pump", ["outdoor"], {"floor": "1", "list": [1, 2, 3]}),
    ):
        made[name] = api.thing(t, name=name, tags=tags, metadata=metadata)
    api.call("POST", f"/things/{made['GARDEN pump']['id']}/disable", token=t)
    return made


def test_name_filter_is_a_case_insensitive_substring(api, alice, catalogue):
    t = alice.token
    assert names(api, t, name="KITCHEN") == {"Kitchen Sensor", "kitchen light"}
    assert names(api, t, name="sens") == {"Kitchen Sensor"}
    assert names(api, t, name="gar", status="all") == {"Garage door", "GARDEN pump"}
    assert names(api, t, name="en s") == {"Kitchen Sensor"}
    assert names(api, t, name="nothing-like-it") == set()


@pytest.fixture(params=["collect-and-sort", "walk-in-order"])
def plan(request, monkeypatch):
    """The store reads GIN-filtered pages two ways depending on the match count: run both."""
    from chalicelib.store import postgres

    monkeypatch.setattr(postgres, "_FEW", 10**9 if request.param == "collect-and-sort" else -1)
    return request.param


def test_metadata_filter_is_json_containment(api, alice, catalogue, plan):
    t = alice.token
    assert names(api, t, metadata=json.dumps({"floor": 1})) == {"Kitchen Sensor", "kitchen light"}
    assert names(api, t, metadata=json.dumps({"room": {"kind": "kitchen"}})) == {"Kitchen Sensor", "kitchen light"}
    assert names(api, t, metadata=json.dumps({"room": {"size": 12}})) == {"Kitchen Sensor"}
    assert names(api, t, metadata=json.dumps({"floor": 1, "model": "g-1"})) == set()
    # types matter: "1" is not 1
    assert names(api, t, metadata=json.dumps({"floor": "1"}), status="all") == {"GARDEN pump"}
    assert names(api, t, metadata=json.dumps({"list": [2]}), status="all") == {"GARDEN pump"}
    assert names(api, t, metadata="{}") == {"Kitchen Sensor", "kitchen light", "Garage door"}


def test_tag_filter(api, alice, catalogue, plan):
    t = alice.token
    assert names(api, t, tag="indoor") == {"Kitchen Sensor", "kitchen light"}
    assert names(api, t, tag="door") == {"Garage door"}  # a whole tag, not a substring of "indoor"
    assert names(api, t, tags="light") == {"kitchen light"}  # the spec's parameter name
    assert names(api, t, tag="INDOOR") == set()
    assert names(api, t, tag="outdoor") == set()
    assert names(api, t, tag="outdoor", status="all") == {"GARDEN pump"}


def test_status_filter(api, alice, catalogue):
    t = alice.token
    every = {"Kitchen Sensor", "kitchen light", "Garage door", "GARDEN pump"}
    assert names(api, t) == every - {"GARDEN pump"}  # enabled by default
    assert names(api, t, status="enabled") == every - {"GARDEN pump"}
    assert names(api, t, status="disabled") == {"GARDEN pump"}
    assert names(api, t, status="all") == every
    api.call("POST", f"/things/{catalogue['GARDEN pump']['id']}/enable", token=t)
    api.call("POST", f"/things/{catalogue['Garage door']['id']}/disable", token=t)
    assert names(api, t, status="disabled") == {"Garage door"}


def test_filters_combine(api, alice, catalogue, plan):
    t = alice.token
    assert names(api, t, name="kitchen", tag="climate") == {"Kitchen Sensor"}
    assert names(api, t, name="kitchen", metadata=json.dumps({"room": {"size": 12}}), tag="light") == set()
    assert names(api, t, name="ga", status="disabled") == {"GARDEN pump"}


def test_channel_filters(api, alice):
    t = alice.token
    api.channel(t, name="Lab Alpha", metadata={"site": "north", "level": 2})
    api.channel(t, name="lab beta", metadata={"site": "south"})
    off = api.channel(t, name="Office", metadata={"site": "north"})
    api.call("POST", f"/channels/{off['id']}/disable", token=t)
    assert names(api, t, "/channels", name="LAB") == {"Lab Alpha", "lab beta"}
    assert names(api, t, "/channels", metadata=json.dumps({"site": "north"})) == {"Lab Alpha"}
    assert names(api, t, "/channels", metadata=json.dumps({"site": "north"}), status="all") == {"Lab Alpha", "Office"}
    assert names(api, t, "/channels", status="disabled") == {"Office"}


def test_user_filters_for_admins(api, make_user):
    admin = make_user("root", role="admin")
    make_user("anna", tags=["ops", "eu"], metadata={"team": "red"})
    make_user("annabel", tags=["dev"], metadata={"team": "blue"})
    make_user("zed", tags=["ops"], metadata={"team": "red", "lead": True}, status="disabled")
    t = admin.token
    assert names(api, t, "/users", name="ANNA") == {"anna", "annabel"}
    assert names(api, t, "/users", identity="annabel@") == {"annabel"}
    assert names(api, t, "/users", tag="ops") == {"anna"}
    assert names(api, t, "/users", tag="ops", status="all") == {"anna", "zed"}
    assert names(api, t, "/users", metadata=json.dumps({"team": "red"}), status="all") == {"anna", "zed"}
    assert names(api, t, "/users", status="disabled") == {"zed"}
    assert names(api, t, "/users") == {"root", "anna", "annabel"}


def test_non_admins_list_only_themselves(api, make_user):
    make_user("root", role="admin")
    anna = make_user("anna")
    make_user("bert")
    body = page(api, anna.token, "/users")
    assert body["total"] == 1 and [u["id"] for u in body["users"]] == [anna.id]
    assert page(api, anna.token, "/users", name="bert")["total"] == 0


# -- paging and ordering --------------------------------------------------------------------------

@pytest.fixture
def many(api, alice):
    r = api.call("POST", "/things/bulk", [{"name": f"thing-{i:02d}"} for i in range(25)], alice.token)
    assert r.status_code == 201
    return r.json["things"]


def test_paging_defaults_and_totals(api, alice, many):
    body = page(api, alice.token, "/things")
    assert (body["total"], body["offset"], body["limit"], len(body["things"])) == (25, 0, 10, 10)
    body = page(api, alice.token, "/things", offset=20)
    assert (body["total"], body["offset"], body["limit"], len(body["things"])) == (25, 20, 10, 5)
    body = page(api, alice.token, "/things", offset=25)
    assert (body["total"], body["things"]) == (25, [])
    body = page(api, alice.token, "/things", offset=1000, limit=100)
    assert (body["total"], body["offset"], body["limit"], body["things"]) == (25, 1000, 100, [])
    body = page(api, alice.token, "/things", limit=100)
    assert len(body["things"]) == 25
    body = page(api, alice.token, "/things", limit=3, name="thing-1")
    assert (body["total"], len(body["things"])) == (10, 3)


def test_pages_are_disjoint_stable_and_newest_first(api, alice, many):
    t = alice.token
    whole = [x["id"] for x in page(api, t, "/things", limit=100)["things"]]
    assert len(set(whole)) == 25
    for limit in (1, 7, 10):
        walked = []
        for offset in range(0, 25, limit):
            walked += [x["id"] for x in page(api, t, "/things", offset=offset, limit=limit)["things"]]
        assert walked == whole, limit
    # repeatable, and ordered newest first with the id breaking ties
    assert [x["id"] for x in page(api, t, "/things", limit=100)["things"]] == whole
    items = page(api, t, "/things", limit=100)["things"]
    keys = [(x["created_at"], x["id"]) for x in items]
    assert keys == sorted(keys, key=lambda k: (_neg(k[0]), k[1]))
    # updating a thing does not move it
    api.call("PATCH", f"/things/{whole[-1]}", {"name": "touched"}, t)
    assert [x["id"] for x in page(api, t, "/things", limit=100)["things"]] == whole


def test_filtered_pages_walk_the_same_order(api, alice, plan):
    t = alice.token
    items = [{"name": f"x{i:02d}", "tags": ["even" if i % 2 == 0 else "odd"], "metadata": {"parity": i % 2}}
             for i in range(30)]
    assert api.call("POST", "/things/bulk", items, t).status_code == 201
    for params, expected in (({"tag": "even"}, 15), ({"metadata": json.dumps({"parity": 1})}, 15),
                             ({"name": "X1"}, 10), ({"name": "x", "tag": "odd"}, 15), ({}, 30)):
        whole = page(api, t, "/things", limit=100, **params)
        assert whole["total"] == expected, params
        ids = [x["id"] for x in whole["things"]]
        walked = []
        for offset in range(0, expected, 4):
            body = page(api, t, "/things", offset=offset, limit=4, **params)
            assert body["total"] == expected
            walked += [x["id"] for x in body["things"]]
        assert walked == ids
        beyond = page(api, t, "/things", offset=expected + 3, **params)
        assert (beyond["total"], beyond["things"]) == (expected, [])


def _neg(timestamp: str) -> tuple:
    from datetime import datetime

    return (-datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp(),)


def test_channel_and_user_pages(api, make_user):
    admin = make_user("root", role="admin")
    for i in range(12):
        api.channel(admin.token, name=f"c{i}")
        make_user(f"u{i}")
    body = page(api, admin.token, "/channels")
    assert (body["total"], body["offset"], body["limit"], len(body["channels"])) == (12, 0, 10, 10)
    body = page(api, admin.token, "/users", offset=10)
    assert (body["total"], body["offset"], body["limit"], len(body["users"])) == (13, 10, 10, 3)


# -- connections as lists -------------------------------------------------------------------------

@pytest.fixture
def wired(api, alice):
    t = alice.token
    things = [api.thing(t, name=n) for n in ("alpha", "beta", "gamma")]
    channels = [api.channel(t, name=n) for n in ("one", "two")]
    r = api.call("POST", "/connect", {"thing_ids": [things[0]["id"], things[1]["id"]], "channel_id": channels[0]["id"]},
                 t)
    assert r.status_code == 201
    return things, channels


def test_channel_things_connected_and_not(api, alice, wired):
    things, channels = wired
    path = f"/channels/{channels[0]['id']}/things"
    assert names(api, alice.token, path) == {"alpha", "beta"}  # connected=true by default
    assert names(api, alice.token, path, connected="true") == {"alpha", "beta"}
    assert names(api, alice.token, path, connected="false") == {"gamma"}
    assert names(api, alice.token, path, connected="true", name="alp") == {"alpha"}
    body = page(api, alice.token, path, limit=1)
    assert (body["total"], len(body["things"])) == (2, 1)
    empty = f"/channels/{channels[1]['id']}/things"
    assert names(api, alice.token, empty) == set()
    assert names(api, alice.token, empty, connected="false") == {"alpha", "beta", "gamma"}


def test_thing_channels_connected_and_not(api, alice, wired):
    things, channels = wired
    assert names(api, alice.token, f"/things/{things[0]['id']}/channels") == {"one"}
    assert names(api, alice.token, f"/things/{things[0]['id']}/channels", connected="false") == {"two"}
    assert names(api, alice.token, f"/things/{things[2]['id']}/channels") == set()
    assert names(api, alice.token, f"/things/{things[2]['id']}/channels", connected="false") == {"one", "two"}


def test_connection_views_respect_status_filters(api, alice, wired):
    things, channels = wired
    api.call("POST", f"/things/{things[0]['id']}/disable", token=alice.token)
    path = f"/channels/{channels[0]['id']}/things"
    assert names(api, alice.token, path) == {"beta"}
    assert names(api, alice.token, path, status="all") == {"alpha", "beta"}


def test_deleting_either_end_removes_the_connection(api, alice, wired):
    things, channels = wired
    assert api.call("DELETE", f"/things/{things[0]['id']}", token=alice.token).status_code == 204
    assert names(api, alice.token, f"/channels/{channels[0]['id']}/things") == {"beta"}
    assert api.call("DELETE", f"/channels/{channels[0]['id']}", token=alice.token).status_code == 204
    assert names(api, alice.token, f"/things/{things[1]['id']}/channels") == set()
    assert_error(api.call("GET", f"/channels/{channels[0]['id']}/things", token=alice.token), 404)


# -- bulk creation --------------------------------------------------------------------------------

def test_bulk_create(api, alice):
    explicit = "6d1e0f9c-0000-4000-8000-00000000b01c"
    items = [{"name": "b1", "tags": ["x"], "metadata": {"n": 1}},
             {"name": "b2", "id": explicit, "credentials": {"identity": "dev-2", "secret": "bulk-chosen-key-0001"}},
             {"name": "b3", "status": "disabled"}]
    r = api.call("POST", "/things/bulk", items, alice.token)
    assert r.status_code == 201
    body = r.json
    assert (body["total"], body["offset"], body["limit"]) == (3, 0, 3)
    got = body["things"]
    assert [t["name"] for t in got] == ["b1", "b2", "b3"]
    assert got[0]["tags"] == ["x"] and got[0]["metadata"] == {"n": 1}
    assert got[1]["id"] == explicit and got[1]["credentials"] == {"identity": "dev-2", "secret": "bulk-chosen-key-0001"}
    assert got[2]["status"] == "disabled"
    assert all(t["owner_id"] == alice.id for t in got)
    for thing in got:
        assert api.call("GET", f"/things/{thing['id']}", token=alice.token).json == thing
    assert names(api, alice.token, status="all") == {"b1", "b2", "b3"}


def test_bulk_create_is_all_or_nothing(api, alice):
    items = [{"name": "ok"}, {"name": "bad", "credentials": {"secret": "short"}}]
    assert_error(api.call("POST", "/things/bulk", items, alice.token), 400)
    dup = "6d1e0f9c-0000-4000-8000-00000000d0d0"
    assert_error(api.call("POST", "/things/bulk", [{"id": dup}, {"id": dup.upper()}], alice.token), 409)
    assert page(api, alice.token, "/things", status="all")["total"] == 0


# -- every connection body form ---------------------------------------------------------------------

@pytest.fixture
def grid(api, alice):
    t = alice.token
    things = [api.thing(t, name=f"t{i}")["id"] for i in range(3)]
    channels = [api.channel(t, name=f"c{i}")["id"] for i in range(2)]
    return things, channels


def linked(api, token, channels) -> set[tuple[str, str]]:
    pairs = set()
    for cid in channels:
        for thing in page(api, token, f"/channels/{cid}/things", limit=100)["things"]:
            pairs.add((cid, thing["id"]))
    return pairs


@pytest.mark.parametrize("form", ["single", "lists", "subjects-objects", "mixed"])
def test_connect_and_disconnect_body_forms(api, alice, grid, form):
    things, channels = grid
    t = alice.token
    body, expected = {
        "single": ({"thing_id": things[0], "channel_id": channels[0]}, {(channels[0], things[0])}),
        "lists": ({"thing_ids": things[:2], "channel_ids": channels},
                  {(c, th) for c in channels for th in things[:2]}),
        "subjects-objects": ({"subjects": things, "objects": [channels[1]], "permission": ["publish"]},
                             {(channels[1], th) for th in things}),
        "mixed": ({"thing_id": things[2], "subjects": [things[0]], "channel_ids": [channels[0]]},
                  {(channels[0], things[2]), (channels[0], things[0])}),
    }[form]
    r = api.call("POST", "/connect", body, t)
    assert r.status_code == 201, r.json
    assert linked(api, t, channels) == expected
    # connecting again is not an error and changes nothing
    assert api.call("POST", "/connect", body, t).status_code == 201
    assert linked(api, t, channels) == expected
    r = api.call("POST", "/disconnect", body, t)
    assert r.status_code == 204 and r.body in (b"", "")
    assert linked(api, t, channels) == set()
    # disconnecting what is not connected is fine too
    assert api.call("POST", "/disconnect", body, t).status_code == 204


def test_connect_body_lists_only_channels_or_only_things_is_400(api, alice, grid):
    things, channels = grid
    for body in ({"thing_ids": things}, {"channel_ids": channels}, {"subjects": things, "objects": []},
                 {"thing_id": things[0]}):
        assert_error(api.call("POST", "/connect", body, alice.token), 400)
    assert linked(api, alice.token, channels) == set()


def test_connect_to_a_missing_entity_is_404(api, alice, grid):
    things, channels = grid
    missing = "6d1e0f9c-0000-4000-8000-0000000dead0"
    assert_error(api.call("POST", "/connect", {"thing_id": missing, "channel_id": channels[0]}, alice.token), 404)
    assert_error(api.call("POST", "/connect", {"thing_id": things[0], "channel_id": missing}, alice.token), 404)
    assert_error(api.call("POST", f"/channels/{missing}/things/{things[0]}/connect", token=alice.token), 404)
    assert linked(api, alice.token, channels) == set()


def test_connect_and_disconnect_routes(api, alice, grid):
    things, channels = grid
    t = alice.token
    r = api.call("POST", f"/channels/{channels[0]}/things/{things[1]}/connect", token=t)
    assert r.status_code == 201
    assert linked(api, t, channels) == {(channels[0], things[1])}
    assert api.call("POST", f"/channels/{channels[0]}/things/{things[1]}/connect", token=t).status_code == 201
    r = api.call("POST", f"/channels/{channels[0]}/things/{things[1]}/disconnect", token=t)
    assert r.status_code == 204
    assert linked(api, t, channels) == set()


def test_connect_answers_with_the_pairs(api, alice, grid):
    things, channels = grid
    r = api.call("POST", "/connect", {"thing_ids": things[:2], "channel_id": channels[0]}, alice.token)
    assert r.status_code == 201
    got = {(c["channel_id"], c["thing_id"]) for c in r.json["connections"]}
    assert got == {(channels[0], things[0]), (channels[0], things[1])}
