"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a real local stack.

The stack is built from the repo's own pieces: the migrated PostgreSQL of tests/conftest.py, the Chalice
app served by devstack.api_server, and dashboard_static/ served by devstack.dashboard_server with a
config.json that points at that API. Screenshots go to test-artifacts/dashboard/ (git-ignored).
"""
from __future__ import annotations

import logging
import socket
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
PASSWORD = "a-long-password"
READERS_ROUTE = "/channels/{channel_id}/messages"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    api_url: str
    dashboard_url: str
    servers: list = field(default_factory=list)


class Mailbox(logging.Handler):
    """Collects what the log mail sender 'sends' (password-reset links)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.mails: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.mails.append(record.getMessage())


@pytest.fixture(scope="package")
def mailbox():
    box = Mailbox()
    logger = logging.getLogger("platform.mail")
    logger.addHandler(box)
    yield box
    logger.removeHandler(box)


class CorsOnErrors:
    """Test-only stand-in for a missing API fix (see test_cors.py).

    Errors answered by chalicelib.api.errors.error_middleware skip Chalice's CORS step, so a browser on
    another origin cannot read any 4xx/5xx body (a wrong password looks like a network failure). This
    middleware, installed outermost and only while the app lacks the fix, adds the app's own CORS headers.
    """

    def __init__(self, headers: dict) -> None:
        self.headers = headers

    def __call__(self, event, get_response):
        response = get_response(event)
        if response.status_code >= 400:
            for name, value in self.headers.items():
                response.headers.setdefault(name, value)
        return response


def errors_carry_cors(app) -> bool:
    from chalice.test import Client

    with Client(app) as client:
        response = client.http.get("/users/profile")
    return response.status_code == 401 and "Access-Control-Allow-Origin" in response.headers


@dataclass
class CorsGaps:
    """What the app lacked for a cross-origin dashboard when the session started (and the tests patched)."""

    routes_without_cors: list[str] = field(default_factory=list)
    errors_without_cors: bool = False


@pytest.fixture(scope="package")
def cors_gaps(database_url):
    """Patch, for the browser tests only, the CORS gaps of the app as found (reported by test_cors.py)."""
    from app import app

    gaps = CorsGaps()
    cors = app.api.cors
    patched_entries = []
    shim = None
    if cors:
        # Routes registered before app.api.cors was set (blueprints) carry no CORS configuration.
        for path, methods in app.routes.items():
            for method, entry in methods.items():
                if entry.cors is None:
                    gaps.routes_without_cors.append(f"{method} {path}")
                    entry.cors = cors
                    patched_entries.append(entry)
        if not errors_carry_cors(app):
            gaps.errors_without_cors = True
            shim = CorsOnErrors(cors.get_access_control_headers())
            app.middleware_handlers.insert(0, (shim, "http"))
    if gaps.routes_without_cors or gaps.errors_without_cors:
        warnings.warn(f"the API is not fully usable cross-origin; the dashboard tests patch it: {gaps}", stacklevel=1)
    yield gaps
    for entry in patched_entries:
        entry.cors = None
    if shim is not None:
        app.middleware_handlers.remove((shim, "http"))


@pytest.fixture(scope="package")
def stack(database_url, mailbox, cors_gaps):
    from app import app
    from chalicelib.container import reset
    from devstack.api_server import serve
    from devstack.dashboard_server import serve_dashboard

    reset()
    api_port = free_port()
    api = serve(app, "127.0.0.1", api_port)
    api_url = f"http://127.0.0.1:{api_port}"
    dash = serve_dashboard("127.0.0.1", 0, api_url)
    yield Stack(api_url=api_url, dashboard_url=dash.url, servers=[api, dash])
    dash.shutdown()
    api.shutdown()


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install-browser.sh` (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


class Api:
    """Direct HTTP calls for setting up data quickly (the UI is exercised by the tests themselves)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = token if " " in token else f"Bearer {token}"
        return requests.request(method, self.base + path, headers=headers, timeout=10, **kw)

    def signup(self, email: str, password: str = PASSWORD, name: str | None = None) -> dict:
        r = self.call("POST", "/users", json={"name": name or email.split("@")[0],
                                              "credentials": {"identity": email, "secret": password}})
        assert r.status_code == 201, r.text
        return r.json()

    def login(self, email: str, password: str = PASSWORD) -> str:
        r = self.call("POST", "/users/tokens/issue", json={"identity": email, "secret": password})
        assert r.status_code == 201, r.text
        return r.json()["access_token"]

    def thing(self, token: str, name: str, **fields) -> dict:
        r = self.call("POST", "/things", token, json={"name": name, **fields})
        assert r.status_code == 201, r.text
        return r.json()

    def channel(self, token: str, name: str, **fields) -> dict:
        r = self.call("POST", "/channels", token, json={"name": name, **fields})
        assert r.status_code == 201, r.text
        return r.json()

    def connect(self, token: str, channel_id: str, thing_ids: list[str]) -> None:
        r = self.call("POST", "/connect", token, json={"channel_ids": [channel_id], "thing_ids": thing_ids})
        assert r.status_code == 201, r.text

    def publish(self, key: str, channel_id: str, records: list[dict], subtopic: str = "") -> requests.Response:
        path = f"/channels/{channel_id}/messages" + (f"/{subtopic}" if subtopic else "")
        return self.call("POST", path, f"Thing {key}", data=__import__("json").dumps(records),
                         headers={"Content-Type": "application/senml+json"})


@pytest.fixture
def api(stack) -> Api:
    return Api(stack.api_url)


class Ui:
    """A browser page on the dashboard plus what it reported: dialogs, console errors, CSP violations."""

    def __init__(self, page, stack: Stack) -> None:
        self.page = page
        self.stack = stack
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._on_console)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _on_console(self, msg) -> None:
        text = msg.text
        if msg.type == "error" and ("Content Security Policy" in text or "Content-Security-Policy" in text):
            self.errors.append(f"csp: {text}")
        elif msg.type == "error" and "Failed to load resource" not in text:
            self.errors.append(f"console: {text}")

    def open(self, hash_path: str = "#/", base: str | None = None) -> None:
        self.page.goto(f"{base or self.stack.dashboard_url}/{hash_path}")
        self.page.wait_for_selector("html[data-ready='true']")

    def heading(self, text: str) -> None:
        self.page.get_by_role("heading", level=1, name=text).wait_for()

    def toast(self, text: str) -> None:
        """Wait for a toast saying exactly `text` (the latest, if an earlier one said the same)."""
        self.page.locator("#toast").get_by_text(text, exact=True).last.wait_for()

    def login(self, email: str, password: str = PASSWORD) -> None:
        self.open("#/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.heading("Overview")
        self.wait_idle()

    def wait_idle(self) -> None:
        self.page.wait_for_load_state("networkidle")

    def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _browser_page(browser, stack, request, **context_args):
    context = browser.new_context(accept_downloads=True, **context_args)
    page = context.new_page()
    page.set_default_timeout(10_000)
    helper = Ui(page, stack)
    yield helper
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        helper.shot(f"FAILED-{request.node.name}")  # what the page showed when the test failed
    context.close()
    assert not helper.errors, helper.errors


@pytest.fixture
def ui(browser, stack, request):
    yield from _browser_page(browser, stack, request, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone(browser, stack, request):
    yield from _browser_page(browser, stack, request, viewport={"width": 390, "height": 844},
                             device_scale_factor=2, is_mobile=True, has_touch=True, reduced_motion="reduce")


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def user(api):
    """A fresh user signed up through the API: (email, profile)."""
    email = unique_email()
    return email, api.signup(email)


def readers_available() -> bool:
    """GET /channels/{id}/messages is served by the app."""
    from app import app

    return "GET" in app.routes.get(READERS_ROUTE, {})
