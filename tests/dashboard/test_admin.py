"""Administrators: the users page (enable/disable, role) and backup health (with redrive and verify)."""
from __future__ import annotations

import dataclasses

import pytest

from tests.dashboard.conftest import PASSWORD, unique_email


@pytest.fixture
def admin(api):
    from chalicelib.container import services

    email = unique_email("admin")
    services().users.ensure_admin(email, PASSWORD)
    return email


def test_users_are_for_admins_only(ui, api, user):
    email, _ = user
    ui.login(email)
    page = ui.page
    assert page.locator("#sidenav").get_by_role("link", name="Users").count() == 0 or \
        page.locator("#sidenav").get_by_role("link", name="Users").is_hidden()
    ui.open("#/users")
    ui.heading("Administrators only")
    ui.open("#/backup")
    ui.heading("Administrators only")


def test_admin_lists_users_changes_roles_and_disables(ui, api, admin):
    target = unique_email("managed")
    api.signup(target, name="Managed Person")
    ui.login(admin)
    page = ui.page
    page.locator("#sidenav").get_by_role("link", name="Users").click()
    ui.heading("Users")
    filters = page.get_by_role("search", name="Filter users")
    filters.get_by_label("Email").fill(target)
    filters.get_by_role("button", name="Apply filters").click()
    listing = page.locator("#users-list")
    listing.get_by_text("1–1 of 1").wait_for()
    ui.shot("users")

    listing.get_by_label("Role of Managed Person").select_option("admin")
    page.get_by_text("Managed Person is now admin").wait_for()
    token = api.login(target)
    assert api.call("GET", "/users/profile", token).json()["role"] == "admin"

    # Disabling asks first (Cancel changes nothing); enabling does not.
    listing.get_by_role("button", name="Disable Managed Person").click()
    dialog = page.get_by_role("dialog")
    assert "Managed Person will not be able to log in until enabled again." in dialog.text_content()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    api.login(target)
    listing.get_by_role("button", name="Disable Managed Person").click()
    dialog.get_by_role("button", name="Disable").click()
    listing.get_by_role("button", name="Enable Managed Person").wait_for()
    ui.toast("Disabled Managed Person")
    assert api.call("POST", "/users/tokens/issue", json={"identity": target, "secret": PASSWORD}).status_code == 401
    listing.get_by_role("button", name="Enable Managed Person").click()
    listing.get_by_role("button", name="Disable Managed Person").wait_for()
    ui.toast("Enabled Managed Person")
    api.login(target)

    # A new user added by the administrator can log in.
    page.get_by_text("Add a user").click()
    added = unique_email("added")
    page.locator("details").get_by_label("Email").fill(added)
    page.locator("details").get_by_label("Initial password").fill("initial-password-1")
    page.get_by_role("button", name="Add user").click()
    page.get_by_text(f"Added {added}").wait_for()
    api.login(added, "initial-password-1")


def test_backup_page_says_when_the_backup_is_not_configured(ui, admin):
    ui.login(admin)
    page = ui.page
    page.locator("#sidenav").get_by_role("link", name="Backup health").click()
    ui.heading("Backup health")
    note = page.locator("#backup-unavailable")
    note.wait_for()
    assert "Not available on this deployment" in note.text_content()
    ui.shot("backup-not-available")


class FakeDeadLetters:
    queue_url = "retry"

    def __init__(self) -> None:
        self.letters = [{"id": f"m-{i}", "body": {"v": 1, "kind": "ingest", "target": "backup"},
                         "receives": 5, "sent_at": 1_700_000_000_000 + i} for i in range(3)]
        self.retry = 2

    def depth(self, url=None):
        return self.retry if url == self.queue_url else len(self.letters)

    def peek(self, limit=10):
        return self.letters[:limit]

    def redrive(self, limit=1000):
        moved, self.letters = len(self.letters), []
        self.retry += moved
        return moved


class FakeVerifier:
    def verify(self, since, until):
        return self

    total = 0

    def summary(self):
        return {"since": 0, "until": 1e13, "drift": 0, "entities": {"missing": 0}, "messages": {}}


class FakeResults:
    def __init__(self) -> None:
        self.rows = []

    def record(self, summary, repaired):
        self.rows.append({"finished_at": "2026-01-02T03:04:05+00:00", "drift": summary["drift"],
                          "repaired": repaired, "report": summary})

    def last(self):
        return self.rows[-1] if self.rows else None


@pytest.fixture
def backup_admin(monkeypatch):
    """The real BackupAdmin and routes, over stand-ins for SQS and the verifier (moto is for other suites)."""
    import app as app_module
    from chalicelib.services.backup_admin import BackupAdmin

    real = app_module.services
    fake = BackupAdmin(FakeVerifier(), FakeDeadLetters(), FakeResults())
    monkeypatch.setattr(app_module, "services", lambda: dataclasses.replace(real(), backup_admin=fake))
    return fake


def test_backup_health_redrive_and_verify(ui, admin, backup_admin):
    ui.login(admin)
    page = ui.page
    ui.open("#/backup")
    ui.heading("Backup health")
    assert page.locator("#retry-depth").text_content() == "2"
    assert page.locator("#dead-letters").text_content() == "3"
    letters = page.get_by_role("table", name="Dead letters")
    assert letters.locator("tbody tr").count() == 3
    assert "ingest" in letters.locator("tbody tr").first.text_content()
    page.locator("#last-verify").get_by_text("No verification has run yet.").wait_for()
    ui.shot("backup-health")

    page.get_by_role("button", name="Redrive dead letters").click()
    page.get_by_role("dialog").get_by_role("button", name="Redrive").click()
    page.get_by_text("Redrove 3 message(s) to the retry queue").wait_for()
    assert page.locator("#dead-letters").text_content() == "0"
    assert page.locator("#retry-depth").text_content() == "5"
    assert page.get_by_role("button", name="Redrive dead letters").is_disabled()

    page.get_by_role("button", name="Verify now").click()
    page.get_by_text("Verification found no difference").wait_for()
    assert page.locator("#verify-drift").text_content() == "0"
    ui.shot("backup-health-after")
