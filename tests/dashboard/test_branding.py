"""White-label (branding.json), light and dark mode, phone width, keyboard and labels."""
from __future__ import annotations

import json
import shutil

import pytest

from devstack.dashboard_server import STATIC_ROOT, serve_dashboard

CHOOVIO_PRIMARY = "rgb(44, 82, 130)"  # #2C5282


def css_var(page, name: str) -> str:
    return page.evaluate(f"getComputedStyle(document.documentElement).getPropertyValue('{name}').trim()")


def bg(page, selector: str) -> str:
    return page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor")


@pytest.fixture
def rebranded(tmp_path, stack):
    """A copy of dashboard_static/ with another branding.json, served like the original."""
    root = tmp_path / "site"
    shutil.copytree(STATIC_ROOT, root)
    (root / "img" / "acme.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>')
    (root / "branding.json").write_text(json.dumps({
        "product_name": "Acme Sensors",
        "logo": "img/acme.svg",
        "favicon": "img/acme.svg",
        "colors": {"primary": "#0F766E", "secondary": "#FACC15", "accent": "#BE185D"},
        "support": {"label": "Help desk", "url": "https://support.acme.example/"},
    }))
    server = serve_dashboard("127.0.0.1", 0, stack.api_url, root=root)
    yield server.url
    server.shutdown()


def test_default_branding_is_choovio(ui, user):
    email, _ = user
    ui.login(email)
    page = ui.page
    assert page.title() == "Choovio IoT"
    assert page.locator("#brand-name").text_content() == "Choovio IoT"
    assert css_var(page, "--brand-primary") == "#2C5282"
    assert css_var(page, "--brand-secondary") == "#ED8936"
    assert css_var(page, "--brand-accent") == "#805AD5"
    assert bg(page, ".topbar") == CHOOVIO_PRIMARY
    assert page.locator("#support-link").is_hidden()


def test_rebrand_through_the_branding_file(ui, user, rebranded):
    email, _ = user
    page = ui.page
    ui.open("#/login", base=rebranded)
    ui.heading("Log in to Acme Sensors")
    assert page.title() == "Acme Sensors"
    assert page.locator("#brand-name").text_content() == "Acme Sensors"
    assert page.locator("#brand-logo").get_attribute("src") == "img/acme.svg"
    assert page.locator("#favicon").get_attribute("href") == "img/acme.svg"
    support = page.get_by_role("link", name="Help desk")
    assert support.get_attribute("href") == "https://support.acme.example/"
    assert css_var(page, "--brand-primary") == "#0F766E"
    assert bg(page, ".topbar") == "rgb(15, 118, 110)"
    assert bg(page, "button.btn-primary") == "rgb(15, 118, 110)"
    ui.shot("rebranded-login")

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Log in").click()
    ui.heading("Overview")
    # A light secondary color gets dark text, a dark primary white text (readable contrast).
    assert page.eval_on_selector(".sidenav a[aria-current='page']",
                                 "el => getComputedStyle(el).borderLeftColor") == "rgb(250, 204, 21)"
    assert css_var(page, "--brand-on-secondary") == css_var(page, "--on-light")
    assert css_var(page, "--brand-on-primary") == css_var(page, "--on-dark")
    assert page.eval_on_selector(".topbar .brand", "el => getComputedStyle(el).color") == "rgb(255, 255, 255)"
    ui.shot("rebranded-overview")


def test_a_broken_branding_file_falls_back_to_the_preset(ui, tmp_path, stack):
    root = tmp_path / "site"
    shutil.copytree(STATIC_ROOT, root)
    (root / "branding.json").write_text(json.dumps({
        "product_name": "<b>Evil</b>", "logo": "javascript:alert(1)",
        "colors": {"primary": "red; background: url(x)", "accent": "#123456"},
        "support": {"url": "javascript:alert(1)"}}))
    server = serve_dashboard("127.0.0.1", 0, stack.api_url, root=root)
    try:
        ui.open("#/login", base=server.url)
        page = ui.page
        assert page.locator("#brand-name").text_content() == "<b>Evil</b>"  # text, not markup
        assert page.locator("#brand-logo").get_attribute("src") == "img/logo.svg"
        assert css_var(page, "--brand-primary") == "#2C5282"
        assert css_var(page, "--brand-accent") == "#123456"
        assert page.locator("#support-link").is_hidden()
        assert ui.dialogs == []
    finally:
        server.shutdown()


def test_dark_mode_toggle_persists(ui, user):
    email, _ = user
    ui.login(email)
    page = ui.page
    light = bg(page, "body")
    toggle = page.get_by_role("button", name="Dark mode")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert bg(page, "body") == "rgb(17, 21, 29)" != light
    page.wait_for_load_state("networkidle")
    ui.shot("overview-dark")
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    ui.open("#/things")
    ui.heading("Things")
    ui.shot("things-dark")
    page.get_by_role("button", name="Dark mode").click()
    assert bg(page, "body") == light


def test_phone_width_menu_and_no_sideways_scrolling(phone, api, user):
    email, _ = user
    token = api.login(email)
    channel = api.channel(token, "a-rather-long-channel-name-for-a-small-screen")
    thing = api.thing(token, "sensor-with-a-long-name-0123456789", tags=["outdoor", "north-wall"])
    api.connect(token, channel["id"], [thing["id"]])
    phone.login(email)
    page = phone.page
    nav = page.locator("#sidenav")
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible() and not nav.is_visible()
    phone.shot("phone-overview")
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    nav.get_by_role("link", name="Things").wait_for()
    phone.shot("phone-menu", full_page=False)
    nav.get_by_role("link", name="Things").click()
    phone.heading("Things")
    assert not nav.is_visible()
    for route, heading in (("#/things", "Things"), (f"#/things/{thing['id']}", thing["name"]),
                           (f"#/channels/{channel['id']}", channel["name"]), ("#/messages", "Messages"),
                           ("#/profile", "Profile")):
        phone.open(route)
        phone.heading(heading)
        phone.wait_idle()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{route} scrolls sideways by {overflow}px at phone width"
        phone.shot(f"phone-{route.split('/')[1]}")


def test_keyboard_only_login_and_labeled_fields(ui, user):
    email, _ = user
    page = ui.page
    ui.open("#/login")
    ui.heading("Log in to Choovio IoT")
    assert page.evaluate("document.activeElement.name") == "identity"  # focus starts in the form
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "secret"
    page.keyboard.type("a-long-password")
    page.keyboard.press("Enter")
    ui.heading("Overview")

    # The skip link is the first stop and moves focus to the content. Wait for the page to finish
    # rendering first: a render that ends with focus on the body moves it to the heading.
    ui.wait_idle()
    page.evaluate("document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute('tabindex')")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Every form control on every page has an accessible name.
    for route in ("#/", "#/things", "#/channels", "#/messages", "#/profile"):
        ui.open(route)
        ui.wait_idle()
        unlabeled = page.evaluate("""() => [...document.querySelectorAll('main input, main select, main textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.name || el.id || el.outerHTML.slice(0, 60))""")
        assert unlabeled == [], f"{route}: {unlabeled}"
