"""Things: create, edit, enable/disable, rotate key, connect a device, delete; list filters; CSV import.

Also: another user's thing or channel looks like a missing one.
"""
from __future__ import annotations

import json
import uuid

import pytest

from tests.dashboard.conftest import unique_email


def test_create_edit_rotate_connect_and_delete_a_thing(ui, api, user):
    email, _ = user
    token = api.login(email)
    channel = api.channel(token, "plant-floor")
    ui.login(email)
    page = ui.page
    page.get_by_role("link", name="Things", exact=True).click()
    ui.heading("Things")

    page.get_by_text("Create a thing").click()
    form = page.locator("#create-thing")
    form.get_by_label("Name").fill("boiler")
    form.get_by_label("Tags").fill("heat, basement")
    form.get_by_label("Metadata (JSON object)").fill('{"site": "A"')
    form.get_by_role("button", name="Create thing").click()
    form.get_by_role("alert").filter(has_text="metadata must be valid JSON").wait_for()
    assert form.get_by_label("Metadata (JSON object)").evaluate("el => el === document.activeElement")
    assert api.call("GET", "/things", token).json()["total"] == 0
    form.get_by_label("Metadata (JSON object)").fill('{"site": "A"}')
    form.get_by_role("button", name="Create thing").click()
    ui.heading("boiler")
    thing_id = page.url.rsplit("/", 1)[1]
    thing = api.call("GET", f"/things/{thing_id}", token).json()
    assert thing["tags"] == ["heat", "basement"] and thing["metadata"] == {"site": "A"}

    # The key is hidden until asked for.
    key_text = page.locator("#thing-key")
    assert thing["credentials"]["secret"] not in key_text.text_content()
    page.get_by_role("button", name="Show key").click()
    assert key_text.text_content() == thing["credentials"]["secret"]

    # Rotate: cancel first (Escape), then confirm.
    page.get_by_role("button", name="Rotate key").click()
    page.get_by_role("dialog").wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="hidden")
    assert api.call("GET", f"/things/{thing_id}", token).json()["credentials"]["secret"] == thing["credentials"]["secret"]
    page.get_by_role("button", name="Rotate key").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate key").click()
    page.get_by_text("A new key was generated").wait_for()
    new_key = api.call("GET", f"/things/{thing_id}", token).json()["credentials"]["secret"]
    assert new_key != thing["credentials"]["secret"]

    # Edit name, tags and metadata; invalid metadata is refused before anything is sent.
    edit = page.get_by_role("form", name="Edit thing")
    edit.get_by_label("Name").fill("not-saved")
    edit.get_by_label("Metadata (JSON object)").fill('["site"]')
    edit.get_by_role("button", name="Save changes").click()
    edit.get_by_role("alert").filter(has_text="metadata must be a JSON object").wait_for()
    assert edit.get_by_label("Metadata (JSON object)").evaluate("el => el === document.activeElement")
    assert api.call("GET", f"/things/{thing_id}", token).json()["name"] == "boiler"
    edit.get_by_label("Name").fill("boiler-2")
    edit.get_by_label("Tags").fill("heat")
    edit.get_by_label("Metadata (JSON object)").fill('{"site": "B", "floor": 2}')
    edit.get_by_role("button", name="Save changes").click()
    ui.heading("boiler-2")
    saved = api.call("GET", f"/things/{thing_id}", token).json()
    assert (saved["name"], saved["tags"], saved["metadata"]) == ("boiler-2", ["heat"], {"site": "B", "floor": 2})

    # Disable and enable.
    page.get_by_role("button", name="Disable", exact=True).click()
    page.get_by_role("button", name="Enable", exact=True).wait_for()
    ui.toast("Thing disabled")
    assert api.call("GET", f"/things/{thing_id}", token).json()["status"] == "disabled"
    page.get_by_role("button", name="Enable", exact=True).click()
    page.get_by_role("button", name="Disable", exact=True).wait_for()
    ui.toast("Thing enabled")

    # Connect to a channel; the device panel then shows a working publish command with the key.
    page.get_by_label("Connect to channel").select_option(channel["id"])
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("table", name="Connected channels").get_by_role("link", name="plant-floor").wait_for()
    snippet = page.locator("#curl-snippet").text_content()
    assert f"{ui.stack.api_url}/channels/{channel['id']}/messages" in snippet
    assert f"Authorization: Thing {new_key}" in snippet
    assert api.call("GET", f"/channels/{channel['id']}/things", token).json()["total"] == 1
    ui.shot("thing-detail")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download credentials").click()
    creds = json.loads(open(download.value.path()).read())
    assert creds["thing_id"] == thing_id and creds["thing_key"] == new_key and creds["channel_id"] == channel["id"]

    # Delete with confirmation.
    page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("heading", name="Delete this thing?").wait_for()
    assert '"boiler-2" will be deleted with its connections.' in dialog.text_content()
    dialog.get_by_role("button", name="Delete").click()
    ui.heading("Things")
    ui.toast("Deleted boiler-2")
    assert api.call("GET", f"/things/{thing_id}", token).status_code == 404


def test_list_search_filters_and_pagination(ui, api, user):
    email, _ = user
    token = api.login(email)
    r = api.call("POST", "/things/bulk", token, json=[
        {"name": f"sensor-{i:02d}", "tags": ["even" if i % 2 == 0 else "odd"], "metadata": {"floor": i % 3}}
        for i in range(12)])
    assert r.status_code == 201, r.text
    things = {t["name"]: t for t in r.json()["things"]}
    api.call("POST", f"/things/{things['sensor-03']['id']}/disable", token)
    api.thing(token, "pump")

    ui.login(email)
    page = ui.page
    ui.open("#/things")
    ui.heading("Things")
    listing = page.locator("#things-list")
    listing.get_by_text("1–10 of 13").wait_for()
    assert listing.locator("tbody tr").count() == 10
    listing.get_by_role("button", name="Next").click()
    listing.get_by_text("11–13 of 13").wait_for()
    assert listing.locator("tbody tr").count() == 3
    ui.shot("things-list")

    filters = page.get_by_role("search", name="Filter")
    filters.get_by_label("Name", exact=True).fill("pump")
    filters.get_by_role("button", name="Apply filters").click()
    listing.get_by_text("1–1 of 1").wait_for()
    assert "name=pump" in page.url

    filters.get_by_role("button", name="Clear").click()
    listing.get_by_text("of 13").wait_for()
    filters.get_by_label("Tag").fill("odd")
    filters.get_by_label("Status").select_option("disabled")
    filters.get_by_role("button", name="Apply filters").click()
    listing.get_by_text("1–1 of 1").wait_for()
    listing.get_by_role("link", name="sensor-03").wait_for()

    filters.get_by_label("Status").select_option("all")
    filters.get_by_label("Tag").fill("")
    filters.get_by_label("Metadata contains").fill('{"floor": 0}')
    filters.get_by_role("button", name="Apply filters").click()
    listing.get_by_text("1–4 of 4").wait_for()

    filters.get_by_label("Metadata contains").fill("{not json")
    filters.get_by_role("button", name="Apply filters").click()
    page.get_by_text("metadata must be valid JSON").wait_for()

    filters.get_by_role("button", name="Clear").click()
    listing.get_by_text("of 13").wait_for()
    filters.get_by_label("Name", exact=True).fill("sensor-00")
    filters.get_by_role("button", name="Apply filters").click()
    listing.get_by_role("button", name="Disable sensor-00").click()
    listing.get_by_role("button", name="Enable sensor-00").wait_for()
    ui.toast("Disabled sensor-00")
    assert api.call("GET", f"/things/{things['sensor-00']['id']}", token).json()["status"] == "disabled"
    listing.get_by_role("button", name="Enable sensor-00").click()
    listing.get_by_role("button", name="Disable sensor-00").wait_for()
    ui.toast("Enabled sensor-00")
    assert api.call("GET", f"/things/{things['sensor-00']['id']}", token).json()["status"] == "enabled"
    filters.get_by_label("Name", exact=True).fill("pump")
    filters.get_by_role("button", name="Apply filters").click()
    listing.get_by_role("button", name="Delete pump").click()
    dialog = page.get_by_role("dialog")
    assert '"pump" will be deleted with its connections.' in dialog.text_content()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert api.call("GET", "/things", token, params={"status": "all"}).json()["total"] == 13
    listing.get_by_role("button", name="Delete pump").click()
    dialog.get_by_role("button", name="Delete").click()
    listing.get_by_text("No things match these filters.").wait_for()
    ui.toast("Deleted pump")
    assert api.call("GET", "/things", token, params={"status": "all"}).json()["total"] == 12


def test_import_things_from_csv_with_progress_and_per_row_results(ui, api, user, tmp_path):
    email, _ = user
    token = api.login(email)
    csv_file = tmp_path / "things.csv"
    csv_file.write_text(
        "name,tags,metadata\r\n"
        'meter-1,"power;lab","{""site"": ""A""}"\r\n'
        "meter-2,power,\r\n"
        'broken,,"{not json"\r\n'
        ",orphan,\r\n"
        '"meter, quoted",,\r\n')
    ui.login(email)
    page = ui.page
    ui.open("#/things")
    page.get_by_text("Import things from a CSV file").click()
    section = page.locator("#import-things")
    section.get_by_label("CSV file").set_input_files(str(csv_file))
    section.get_by_text("5 row(s) ready to import.").wait_for()
    section.get_by_role("button", name="Create things").click()
    section.get_by_text("Done: 3 created, 2 failed.").wait_for()
    assert section.locator("progress").evaluate("p => [p.value, p.max]") == [5, 5]

    results = section.get_by_role("table", name="Import results")
    rows = results.locator("tbody tr")
    assert rows.count() == 5
    assert "created" in rows.nth(0).text_content()
    assert "failed" in rows.nth(2).text_content() and "metadata must be valid JSON" in rows.nth(2).text_content()
    assert "name is empty" in rows.nth(3).text_content()
    assert "meter, quoted" in rows.nth(4).text_content()
    ui.shot("things-import")

    listed = api.call("GET", "/things", token, params={"limit": 100}).json()["things"]
    by_name = {t["name"]: t for t in listed}
    assert set(by_name) == {"meter-1", "meter-2", "meter, quoted"}
    assert by_name["meter-1"]["tags"] == ["power", "lab"] and by_name["meter-1"]["metadata"] == {"site": "A"}
    page.locator("#things-list").get_by_text("of 3").wait_for()

    with page.expect_download() as download:
        section.get_by_role("button", name="Download results (with keys)").click()
    report = open(download.value.path()).read()
    assert by_name["meter-2"]["credentials"]["secret"] in report


@pytest.mark.parametrize(("kind", "message"), [
    ("thing", "This thing does not exist or is not shared with you."),
    ("channel", "This channel does not exist or is not yours."),
])
def test_another_users_thing_or_channel_is_not_shown(ui, api, user, kind, message):
    email, _ = user
    other = unique_email("other")
    api.signup(other)
    create = api.thing if kind == "thing" else api.channel
    not_yours = create(api.login(other), "not-yours")
    ui.login(email)
    page = ui.page
    # Someone else's and one that does not exist look the same.
    for item_id in (not_yours["id"], str(uuid.uuid4())):
        ui.open(f"#/{kind}s/{item_id}")
        ui.heading(f"{kind.capitalize()} not found")
        page.get_by_text(message).wait_for()
    page.get_by_role("link", name=f"Back to {kind}s").click()
    ui.heading(f"{kind.capitalize()}s")
