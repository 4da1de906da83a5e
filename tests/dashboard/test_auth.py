"""Sign up, log in, log out, token refresh, password reset, profile: in the browser."""
from __future__ import annotations

import re

from tests.dashboard.conftest import PASSWORD, unique_email


def storage(page) -> dict:
    return page.evaluate("""() => ({
        session: Object.fromEntries(Object.entries(sessionStorage)),
        local: Object.fromEntries(Object.entries(localStorage)),
    })""")


def test_sign_up_log_out_and_log_in_again(ui, api):
    page = ui.page
    email = unique_email("signup")
    ui.open("#/things")
    ui.heading("Log in to Choovio IoT")  # not logged in: the login page, keeping where we wanted to go
    assert "next=%2Fthings" in page.url
    ui.shot("login")

    page.get_by_role("link", name="Create an account").click()
    ui.heading("Create an account")
    page.get_by_label("Name").fill("Signe Up")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill("something-else")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("alert").filter(has_text="The passwords do not match.").wait_for()
    page.get_by_label("Confirm password").fill(PASSWORD)
    ui.shot("signup")
    page.get_by_role("button", name="Create account").click()
    ui.heading("Overview")
    page.get_by_text("Welcome, Signe Up.").wait_for()

    # The access token lives in memory only; the refresh token is in this tab's sessionStorage.
    stored = storage(page)
    assert list(stored["session"]) == ["iot.refresh_token"]
    assert not any(re.match(r"eyJ", v) for v in stored["local"].values())
    refresh_token = stored["session"]["iot.refresh_token"]
    assert api.call("GET", "/users/profile", refresh_token).status_code == 401  # a refresh token is not an access token

    page.get_by_role("button", name="Log out").click()
    ui.heading("Log in to Choovio IoT")
    assert storage(page)["session"] == {}
    ui.open("#/channels")
    ui.heading("Log in to Choovio IoT")

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="Wrong email or password.").wait_for()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    ui.heading("Channels")  # back where the login page was asked for


def test_reload_keeps_the_session_through_the_refresh_token(ui, api, user):
    email, _ = user
    ui.login(email)
    page = ui.page
    before = storage(page)["session"]["iot.refresh_token"]
    with page.expect_request(lambda r: r.url.endswith("/users/tokens/refresh")):
        page.reload()
    ui.heading("Overview")
    after = storage(page)["session"]["iot.refresh_token"]
    assert after != before  # rotated by the refresh

    ui.open("#/profile")
    ui.heading("Profile")
    expiry = page.locator("#session-expiry").text_content()
    with page.expect_response(lambda r: r.url.endswith("/users/tokens/refresh") and r.status == 201):
        page.get_by_role("button", name="Refresh session now").click()
    page.get_by_text("Session refreshed").wait_for()
    assert page.locator("#session-expiry").text_content() >= expiry


def test_an_invalid_refresh_token_ends_on_the_login_page(ui, user):
    ui.open("#/login")
    ui.page.evaluate("sessionStorage.setItem('iot.refresh_token', 'not-a-token')")
    ui.open("#/things")
    ui.heading("Log in to Choovio IoT")
    assert storage(ui.page)["session"] == {}


def test_profile_name_and_password(ui, api, user):
    email, _ = user
    ui.login(email)
    page = ui.page
    page.get_by_role("link", name="Profile", exact=True).click()
    ui.heading("Profile")
    assert page.locator("#profile-email").text_content() == email
    assert page.locator("#profile-role").text_content() == "user"

    page.get_by_label("Name", exact=True).fill("Renamed Person")
    page.get_by_role("button", name="Save name").click()
    page.get_by_text("Name saved.").wait_for()
    assert page.locator("#user-chip").text_content() == "Renamed Person"

    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("another-long-password")
    page.get_by_label("Confirm new password").fill("another-long-password")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("The current password is wrong.").wait_for()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("another-long-password")
    page.get_by_label("Confirm new password").fill("another-long-password")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed.").wait_for()
    ui.shot("profile")
    api.login(email, "another-long-password")


def test_password_reset_by_mail_link(ui, api, user, mailbox):
    email, _ = user
    page = ui.page
    ui.open("#/login")
    page.get_by_role("link", name="Forgot your password?").click()
    ui.heading("Reset your password")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    page.get_by_text("If an account exists for this address").wait_for()
    ui.shot("password-reset-request")

    link = next(m for m in reversed(mailbox.mails) if email in m)
    url = re.search(r"(http://\S+/reset-password\?token=\S+)", link).group(1)
    assert url.startswith(ui.stack.dashboard_url)  # the link comes back to this dashboard
    page.goto(url)
    ui.heading("Choose a new password")
    page.get_by_label("New password", exact=True).fill("brand-new-password")
    page.get_by_label("Confirm new password").fill("brand-new-password")
    ui.shot("password-reset")
    page.get_by_role("button", name="Set new password").click()
    page.get_by_text("Your password was changed.").wait_for()
    assert "token=" not in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("brand-new-password")
    page.get_by_role("button", name="Log in").click()
    ui.heading("Overview")
