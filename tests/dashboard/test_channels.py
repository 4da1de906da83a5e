"""Channels: create, edit, enable/disable, delete; connect and disconnect many things at once."""
from __future__ import annotations


def test_channel_crud_and_connecting_many_things(ui, api, user):
    email, _ = user
    token = api.login(email)
    things = [api.thing(token, f"meter-{i}") for i in range(4)]
    ui.login(email)
    page = ui.page
    page.get_by_role("link", name="Channels", exact=True).click()
    ui.heading("Channels")

    page.get_by_text("Create a channel").click()
    create = page.locator("#create-channel")
    create.get_by_label("Name").fill("hall")
    create.get_by_label("Description").fill("ground floor")
    create.get_by_label("Metadata (JSON object)").fill('{"building": "HQ"}')
    create.get_by_role("button", name="Create channel").click()
    ui.heading("hall")
    channel_id = page.url.rsplit("/", 1)[1]
    assert api.call("GET", f"/channels/{channel_id}", token).json()["metadata"] == {"building": "HQ"}

    # Connect three of the four at once.
    available = page.get_by_role("list", name="available things")
    for name in ("meter-0", "meter-1", "meter-2"):
        available.get_by_label(name).check()
    page.get_by_text("3 selected").wait_for()
    page.get_by_role("button", name="Connect selected", exact=True).click()
    page.get_by_text("Connected 3 thing(s)").wait_for()
    connected = page.get_by_role("list", name="connected things")
    assert connected.locator("li").count() == 3
    listed = api.call("GET", f"/channels/{channel_id}/things", token).json()
    assert {t["name"] for t in listed["things"]} == {"meter-0", "meter-1", "meter-2"}

    # The filter narrows the candidates; "select all shown" takes only those.
    page.get_by_label("Filter things").fill("meter-3")
    page.locator("#connect-things").get_by_role("button", name="Select all shown").click()
    page.get_by_role("button", name="Connect selected", exact=True).click()
    page.get_by_text("Connected 1 thing(s)").wait_for()
    page.get_by_text("Every thing you own is already connected.").wait_for()
    ui.shot("channel-detail")

    # Disconnect two at once.
    connected = page.get_by_role("list", name="connected things")
    connected.get_by_label("meter-0").check()
    connected.get_by_label("meter-3").check()
    page.get_by_role("button", name="Disconnect selected").click()
    page.get_by_text("Disconnected 2 thing(s)").wait_for()
    listed = api.call("GET", f"/channels/{channel_id}/things", token).json()
    assert {t["name"] for t in listed["things"]} == {"meter-1", "meter-2"}
    assert {t["id"] for t in listed["things"]} == {things[1]["id"], things[2]["id"]}

    # Edit, disable, enable.
    edit = page.get_by_role("form", name="Edit channel")
    edit.get_by_label("Name").fill("main hall")
    edit.get_by_label("Description").fill("ground floor, east")
    edit.get_by_role("button", name="Save changes").click()
    ui.heading("main hall")
    assert api.call("GET", f"/channels/{channel_id}", token).json()["description"] == "ground floor, east"
    page.get_by_role("button", name="Disable", exact=True).click()
    page.get_by_role("button", name="Enable", exact=True).wait_for()
    ui.toast("Channel disabled")
    assert api.call("GET", f"/channels/{channel_id}", token).json()["status"] == "disabled"
    page.get_by_role("button", name="Enable", exact=True).click()
    page.get_by_role("button", name="Disable", exact=True).wait_for()
    ui.toast("Channel enabled")

    # Back to the list, delete from there.
    page.get_by_role("link", name="← All channels").click()
    ui.heading("Channels")
    listing = page.locator("#channels-list")
    listing.get_by_role("link", name="main hall").wait_for()
    ui.shot("channels-list")
    listing.get_by_role("button", name="Delete main hall").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("heading", name="Delete this channel?").wait_for()
    assert '"main hall" will be deleted and every thing disconnected from it.' in dialog.text_content()
    dialog.get_by_role("button", name="Cancel").click()
    assert api.call("GET", f"/channels/{channel_id}", token).status_code == 200
    listing.get_by_role("button", name="Delete main hall").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    listing.get_by_text("No channels match").wait_for()
    ui.toast("Deleted main hall")
    assert api.call("GET", f"/channels/{channel_id}", token).status_code == 404


def test_channel_invalid_metadata_and_delete_from_its_page(ui, api, user):
    email, _ = user
    token = api.login(email)
    attic = api.channel(token, "attic", metadata={"floor": 3})
    ui.login(email)
    page = ui.page
    ui.open("#/channels")
    ui.heading("Channels")

    # Invalid metadata is refused before anything is sent, when creating and when editing.
    page.get_by_text("Create a channel").click()
    create = page.locator("#create-channel")
    create.get_by_label("Name").fill("cellar")
    create.get_by_label("Metadata (JSON object)").fill("[1, 2]")
    create.get_by_role("button", name="Create channel").click()
    create.get_by_role("alert").filter(has_text="metadata must be a JSON object").wait_for()
    assert api.call("GET", "/channels", token).json()["total"] == 1
    page.locator("#channels-list").get_by_role("link", name="attic").click()
    ui.heading("attic")
    edit = page.get_by_role("form", name="Edit channel")
    edit.get_by_label("Name").fill("loft")
    edit.get_by_label("Metadata (JSON object)").fill('{"floor": ')
    edit.get_by_role("button", name="Save changes").click()
    edit.get_by_role("alert").filter(has_text="metadata must be valid JSON").wait_for()
    saved = api.call("GET", f"/channels/{attic['id']}", token).json()
    assert (saved["name"], saved["metadata"]) == ("attic", {"floor": 3})

    # Delete from the channel's own page: confirm, then back to the list.
    page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog")
    assert '"attic" will be deleted and every thing disconnected from it.' in dialog.text_content()
    dialog.get_by_role("button", name="Delete").click()
    ui.heading("Channels")
    ui.toast("Deleted attic")
    page.locator("#channels-list").get_by_text("No channels match").wait_for()
    assert api.call("GET", f"/channels/{attic['id']}", token).status_code == 404


def test_channel_list_filters(ui, api, user):
    email, _ = user
    token = api.login(email)
    for i in range(3):
        api.channel(token, f"zone-{i}", metadata={"kind": "zone"})
    api.channel(token, "lobby")
    ui.login(email)
    ui.open("#/channels")
    page = ui.page
    listing = page.locator("#channels-list")
    listing.get_by_text("1–4 of 4").wait_for()
    filters = page.get_by_role("search", name="Filter")
    filters.get_by_label("Name").fill("zone")
    filters.get_by_role("button", name="Apply filters").click()
    listing.get_by_text("1–3 of 3").wait_for()
    filters.get_by_label("Name").fill("")
    filters.get_by_label("Metadata contains").fill('{"kind": "zone"}')
    filters.get_by_role("button", name="Apply filters").click()
    listing.get_by_text("1–3 of 3").wait_for()
    assert listing.get_by_role("link", name="lobby").count() == 0
