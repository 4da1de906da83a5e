"""The full journey to a stored message, then the explorer: table, chart, aggregation, CSV, live tail, overview."""
from __future__ import annotations

import csv
import io
import time

import pytest

from tests.dashboard.conftest import PASSWORD, readers_available, unique_email

pytestmark = pytest.mark.skipif(not readers_available(),
                                reason="the messages reader (GET /channels/{id}/messages) is not in the app yet")


def setup_channel(api, email: str, things: int = 1):
    token = api.login(email)
    channel = api.channel(token, "greenhouse")
    made = [api.thing(token, f"probe-{i}") for i in range(things)]
    api.connect(token, channel["id"], [t["id"] for t in made])
    return token, channel, made


def publish(api, thing: dict, channel: dict, records: list[dict], subtopic: str = "") -> None:
    r = api.publish(thing["credentials"]["secret"], channel["id"], records, subtopic)
    assert r.status_code == 202, r.text


def test_journey_sign_up_to_a_message_in_the_explorer_chart_and_csv(ui, api):
    page = ui.page
    email = unique_email("journey")
    ui.open("#/signup")
    page.get_by_label("Name").fill("Journey")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    ui.heading("Overview")
    page.get_by_role("button", name="Log out").click()
    ui.login(email)

    # A thing and a channel, connected, all in the UI.
    ui.open("#/channels")
    page.get_by_text("Create a channel").click()
    page.locator("#create-channel").get_by_label("Name").fill("greenhouse")
    page.get_by_role("button", name="Create channel").click()
    ui.heading("greenhouse")
    channel_id = page.url.rsplit("/", 1)[1]
    ui.open("#/things")
    page.get_by_text("Create a thing").click()
    page.locator("#create-thing").get_by_label("Name").fill("probe")
    page.get_by_role("button", name="Create thing").click()
    ui.heading("probe")
    thing_id = page.url.rsplit("/", 1)[1]
    page.get_by_label("Connect to channel").select_option(channel_id)
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("table", name="Connected channels").get_by_role("link", name="greenhouse").wait_for()
    page.get_by_role("button", name="Show key").click()
    key = page.locator("#thing-key").text_content()

    # Publish over HTTP with the key the page showed.
    now = time.time()
    records = [{"bn": "probe:", "bt": now - 120, "n": "temperature", "u": "Cel", "v": 21.5},
               {"n": "temperature", "u": "Cel", "v": 22.75, "t": 60},
               {"n": "humidity", "u": "%RH", "v": 40, "t": 60}]
    r = api.publish(key, channel_id, records)
    assert r.status_code == 202, r.text

    # The explorer shows the rows and charts them.
    page.get_by_role("table", name="Connected channels").get_by_role("link", name="Messages").click()
    ui.heading("Messages")
    table = page.get_by_role("table", name="Messages")
    table.get_by_role("cell", name="22.75").wait_for()
    assert table.locator("tbody tr").count() == 3
    assert table.get_by_role("cell", name="probe:humidity").count() == 1
    assert table.get_by_role("cell", name=thing_id).count() == 3
    chart = page.locator("#messages-chart")
    assert chart.get_attribute("data-points") == "3"
    assert chart.get_attribute("data-series") == "2"
    assert chart.locator("canvas").count() == 1
    assert page.locator("#messages-summary").text_content() == "3 message(s) match."
    ui.shot("messages-explorer")

    # CSV export of what the filters select.
    page.get_by_label("Name", exact=True).fill("probe:temperature")
    page.get_by_role("button", name="Apply").click()
    page.locator("#messages-summary").get_by_text("2 message(s) match.").wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert sorted(float(r["value"]) for r in rows) == [21.5, 22.75]
    assert {r["name"] for r in rows} == {"probe:temperature"} and {r["publisher"] for r in rows} == {thing_id}
    page.get_by_text("Exported 2 row(s)").wait_for()


def test_filters_aggregation_and_live_tail(ui, api, user):
    email, _ = user
    token, channel, (thing, other) = setup_channel(api, email, things=2)
    now = time.time()
    start = (now // 3600) * 3600 - 3600  # the previous full hour
    publish(api, thing, channel, [{"bn": "s:", "bt": start, "n": "t", "v": v, "t": i * 600}
                                  for i, v in enumerate([10, 20, 30, 40, 50, 60])])
    publish(api, other, channel, [{"bn": "s:", "bt": now - 30, "n": "t", "v": 99}], subtopic="annex")

    ui.login(email)
    ui.open(f"#/messages?channel={channel['id']}")
    ui.heading("Messages")
    page = ui.page
    summary = page.locator("#messages-summary")
    summary.get_by_text("7 message(s) match.").wait_for()

    # Value filter with a comparator, then subtopic and publisher.
    page.get_by_label("Compare value").select_option("ge")
    page.get_by_label("Value", exact=True).fill("40")
    page.get_by_role("button", name="Apply").click()
    summary.get_by_text("4 message(s) match.").wait_for()
    page.get_by_role("button", name="Reset").click()
    summary.get_by_text("7 message(s) match.").wait_for()
    page.get_by_label("Subtopic").fill("annex")
    page.get_by_role("button", name="Apply").click()
    summary.get_by_text("1 message(s) match.").wait_for()
    page.get_by_role("button", name="Reset").click()
    page.get_by_label("Publisher").select_option(label="probe-0")
    page.get_by_role("button", name="Apply").click()
    summary.get_by_text("6 message(s) match.").wait_for()

    # Average per 15 minutes (values at minutes 0, 10, ..., 50): buckets of (10, 20), 30, (40, 50), 60.
    page.get_by_label("Aggregation").select_option("AVG")
    page.get_by_label("Interval").select_option("15m")
    page.get_by_role("button", name="Apply").click()
    table = page.get_by_role("table", name="Messages")
    table.get_by_role("columnheader", name="AVG").wait_for()
    summary.get_by_text("4 bucket(s) match.").wait_for()
    values = sorted(float(v) for v in table.locator("tbody tr td:nth-child(3)").all_text_contents())
    assert values == [15.0, 30.0, 45.0, 60.0]
    assert page.locator("#messages-chart").get_attribute("data-points") == "4"
    ui.shot("messages-aggregation")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert sorted(float(r["value"]) for r in rows) == values

    # Live tail: new messages show up without reloading the page.
    page.get_by_role("button", name="Reset").click()
    summary.get_by_text("7 message(s) match.").wait_for()
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Live tail").check()
    page.locator("#live-status").get_by_text("watching").wait_for()
    publish(api, thing, channel, [{"n": "s:t", "v": 123.25, "t": time.time()}])
    table.get_by_role("cell", name="123.25").wait_for(timeout=15_000)
    summary.get_by_text("8 message(s) match.").wait_for()
    assert page.locator("tr.is-new").count() == 1
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_label("Live tail").uncheck()
    page.locator("#live-status").get_by_text("stopped").wait_for()


def test_overview_counts_come_from_the_api(ui, api, user):
    email, _ = user
    token, channel, (a, b, idle) = setup_channel(api, email, things=3)
    api.thing(token, "unconnected")
    api.channel(token, "empty")
    now = time.time()
    publish(api, a, channel, [{"n": "a", "v": i, "t": now - 60 * (i + 1)} for i in range(5)])
    publish(api, b, channel, [{"n": "b", "v": 7.5, "t": now - 5}])
    publish(api, b, channel, [{"n": "old", "v": 1, "t": now - 3 * 86400}])  # outside the 24 hours

    ui.login(email)
    page = ui.page
    stats = {k: page.locator(f"#stat-{k}") for k in ("things", "channels", "connections", "messages", "active")}
    page.wait_for_function("document.querySelector('#stat-active').textContent !== '…'")
    assert {k: v.text_content() for k, v in stats.items()} == {
        "things": "4", "channels": "2", "connections": "3", "messages": "6", "active": "2"}
    chart = page.locator("#rate-chart")
    assert chart.get_attribute("data-points") != "0" and chart.locator("canvas").count() == 1
    recent = page.get_by_role("table", name="Most recent messages")
    assert recent.locator("tbody tr").count() == 6
    assert "7.5" in recent.locator("tbody tr").first.text_content()
    ui.shot("overview")
