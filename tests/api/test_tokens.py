"""Tokens, passwords and thing keys: what is accepted, what is refused, what is stored."""
from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
import uuid

import jwt
import pytest

from tests.api.conftest import PASSWORD
from tests.api.helpers import assert_error

NEW_PASSWORD = "brand-new-password"


def _claims(subject: str, token_type: str = "access", **overrides) -> dict:
    now = int(time.time())
    claims = {"iss": "choovio.auth", "sub": subject, "type": token_type, "iat": now, "exp": now + 600,
              "jti": uuid.uuid4().hex}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _secret() -> str:
    return os.environ["JWT_SECRET"]


def _forge(payload: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, _secret() if key is None else key, algorithm=algorithm)


def _profile(api, token):
    return api.call("GET", "/users/profile", token=token)


@pytest.fixture
def alice(api, make_user):
    return make_user("alice")


# -- access tokens --------------------------------------------------------------------------------

def test_a_well_formed_token_signed_with_the_configured_key_is_accepted(api, alice):
    """The control for the forgeries below: same construction, only the defect differs."""
    r = _profile(api, _forge(_claims(alice.id)))
    assert r.status_code == 200 and r.json["id"] == alice.id


def test_tampered_payload_is_401(api, alice, make_user):
    bob = make_user("bob")
    header, payload, signature = alice.token.split(".")
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    claims["sub"] = bob.id
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_error(_profile(api, f"{header}.{forged}.{signature}"), 401)
    # a flipped signature character, and a truncated token
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_error(_profile(api, f"{header}.{payload}.{flipped}"), 401)
    assert_error(_profile(api, f"{header}.{payload}"), 401)
    assert _profile(api, alice.token).status_code == 200


def test_expired_token_is_401(api, alice):
    past = int(time.time()) - 7200
    body = assert_error(_profile(api, _forge(_claims(alice.id, iat=past, exp=past + 3600))), 401)
    assert "expired" in body["message"]


@pytest.mark.parametrize("missing", ["exp", "sub", "type", "iss"])
def test_token_missing_a_required_claim_is_401(api, alice, missing):
    assert_error(_profile(api, _forge(_claims(alice.id, **{missing: None}))), 401)


def test_wrong_issuer_is_401(api, alice):
    assert_error(_profile(api, _forge(_claims(alice.id, iss="someone.else"))), 401)


def test_alg_none_is_401(api, alice):
    unsigned = jwt.encode(_claims(alice.id), None, algorithm="none")
    assert unsigned.endswith(".")
    assert_error(_profile(api, unsigned), 401)
    # the same with an uppercase "None" header crafted by hand
    header = base64.urlsafe_b64encode(b'{"alg":"None","typ":"JWT"}').rstrip(b"=").decode()
    payload = unsigned.split(".")[1]
    assert_error(_profile(api, f"{header}.{payload}."), 401)


def test_wrong_signature_key_is_401(api, alice):
    assert_error(_profile(api, _forge(_claims(alice.id), key="x" * 48)), 401)


def test_other_hmac_algorithm_with_the_right_key_is_401(api, alice):
    # Only HS256 is accepted: no algorithm agility an attacker could steer.
    assert_error(_profile(api, _forge(_claims(alice.id), algorithm="HS512")), 401)


def test_token_for_an_unknown_user_is_401(api, alice):
    assert_error(_profile(api, _forge(_claims(str(uuid.uuid4())))), 401)


def test_refresh_token_used_as_access_is_401(api, make_user):
    from chalicelib.container import services

    bob = make_user("bob")
    pair = services().users.issue_tokens(bob.email, PASSWORD)
    assert_error(_profile(api, pair.refresh_token), 401)
    assert_error(api.call("GET", "/things", token=pair.refresh_token), 401)
    assert _profile(api, pair.access_token).status_code == 200


def test_reset_token_used_as_access_or_refresh_is_401(api, alice):
    reset = _forge(_claims(alice.id, token_type="reset", pwd="x"))
    assert_error(_profile(api, reset), 401)
    assert_error(api.call("POST", "/users/tokens/refresh", token=reset), 401)


# -- login and refresh ------------------------------------------------------------------------------

def test_login_refresh_and_access_as_refresh(api):
    api.signup("carol@example.com")
    r = api.call("POST", "/users/tokens/issue", {"identity": "carol@example.com", "secret": PASSWORD})
    assert r.status_code == 201
    assert set(r.json) == {"access_token", "refresh_token", "access_type"}
    access, refresh = r.json["access_token"], r.json["refresh_token"]
    a, f = (jwt.decode(t, _secret(), algorithms=["HS256"], issuer="choovio.auth") for t in (access, refresh))
    assert (a["type"], f["type"]) == ("access", "refresh")
    assert 3500 <= a["exp"] - a["iat"] <= 3600 and 86000 <= f["exp"] - f["iat"] <= 86400
    # an access token is not a refresh token
    assert_error(api.call("POST", "/users/tokens/refresh", token=access), 401)
    r = api.call("POST", "/users/tokens/refresh", token=refresh)
    assert r.status_code == 201
    assert _profile(api, r.json["access_token"]).json["credentials"]["identity"] == "carol@example.com"
    assert jwt.decode(r.json["refresh_token"], _secret(), algorithms=["HS256"],
                      issuer="choovio.auth")["type"] == "refresh"


def test_login_is_case_insensitive_on_identity_and_refuses_wrong_secrets(api):
    api.signup("Dora@Example.com")
    assert api.call("POST", "/users/tokens/issue", {"identity": "dora@example.com", "secret": PASSWORD}
                    ).status_code == 201
    wrong = assert_error(api.call("POST", "/users/tokens/issue", {"identity": "dora@example.com",
                                                                  "secret": "not-the-password"}), 401)
    unknown = assert_error(api.call("POST", "/users/tokens/issue", {"identity": "nobody@example.com",
                                                                    "secret": "not-the-password"}), 401)
    assert wrong == unknown  # no user enumeration through login
    assert_error(api.call("POST", "/users", {"credentials": {"identity": "DORA@example.com", "secret": PASSWORD}}),
                 409)


def test_disabled_users_tokens_are_401(api, make_user):
    from chalicelib.container import services

    admin = make_user("root", role="admin")
    bob = make_user("bob")
    pair = services().users.issue_tokens(bob.email, PASSWORD)
    assert api.call("POST", f"/users/{bob.id}/disable", token=admin.token).status_code == 200
    assert_error(_profile(api, bob.token), 401)
    assert_error(api.call("GET", "/things", token=pair.access_token), 401)
    assert_error(api.call("POST", "/users/tokens/refresh", token=pair.refresh_token), 401)
    assert_error(api.call("POST", "/users/tokens/issue", {"identity": bob.email, "secret": PASSWORD}), 401)
    # admins still see the disabled user, and enabling restores the old tokens
    assert api.call("GET", f"/users/{bob.id}", token=admin.token).json["status"] == "disabled"
    assert api.call("POST", f"/users/{bob.id}/enable", token=admin.token).status_code == 200
    assert _profile(api, bob.token).status_code == 200


# -- passwords ------------------------------------------------------------------------------------

def test_password_change(api, alice):
    r = api.call("PATCH", "/users/secret", {"old_secret": "wrong-old-pass", "new_secret": NEW_PASSWORD}, alice.token)
    assert_error(r, 401)
    r = api.call("PATCH", "/users/secret", {"old_secret": PASSWORD, "new_secret": "short"}, alice.token)
    assert_error(r, 400)
    r = api.call("PATCH", "/users/secret", {"old_secret": PASSWORD, "new_secret": NEW_PASSWORD}, alice.token)
    assert r.status_code == 200 and r.json["id"] == alice.id
    assert "secret" not in r.json["credentials"]
    assert_error(api.call("POST", "/users/tokens/issue", {"identity": alice.email, "secret": PASSWORD}), 401)
    assert api.call("POST", "/users/tokens/issue", {"identity": alice.email, "secret": NEW_PASSWORD}
                    ).status_code == 201


class CapturedMail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))

    def token(self) -> str:
        match = re.search(r"token=([A-Za-z0-9_\-.]+)", self.sent[-1][2])
        assert match, self.sent[-1][2]
        return match.group(1)


@pytest.fixture
def mailbox(api, monkeypatch):
    from chalicelib.container import services

    box = CapturedMail()
    monkeypatch.setattr(services().users, "mail", box)
    return box


def test_password_reset_flow(api, alice, mailbox):
    r = api.call("POST", "/password/reset-request", {"email": alice.email},
                 headers={"Referer": "https://console.example.com/"})
    assert r.status_code == 201
    assert len(mailbox.sent) == 1
    to, _subject, body = mailbox.sent[0]
    assert to == alice.email
    assert "https://console.example.com/reset-password?token=" in body
    token = mailbox.token()

    def reset(password, confirm=None):
        return api.call("PUT", "/password/reset", {"token": token, "password": password,
                                                   "confirm_password": confirm or password})

    assert_error(reset(NEW_PASSWORD, "something-else"), 400)
    assert_error(reset("short"), 400)
    assert reset(NEW_PASSWORD).status_code == 201
    assert_error(api.call("POST", "/users/tokens/issue", {"identity": alice.email, "secret": PASSWORD}), 401)
    assert api.call("POST", "/users/tokens/issue", {"identity": alice.email, "secret": NEW_PASSWORD}
                    ).status_code == 201
    # the link works once
    assert_error(reset("yet-another-password"), 401)
    assert api.call("POST", "/users/tokens/issue", {"identity": alice.email, "secret": NEW_PASSWORD}
                    ).status_code == 201


def test_password_reset_link_dies_when_the_password_changes_otherwise(api, alice, mailbox):
    api.call("POST", "/password/reset-request", {"email": alice.email})
    token = mailbox.token()
    r = api.call("PATCH", "/users/secret", {"old_secret": PASSWORD, "new_secret": NEW_PASSWORD}, alice.token)
    assert r.status_code == 200
    assert_error(api.call("PUT", "/password/reset", {"token": token, "password": "attacker-password",
                                                     "confirm_password": "attacker-password"}), 401)


def test_password_reset_for_unknown_or_disabled_user_sends_nothing(api, make_user, mailbox):
    admin = make_user("root", role="admin")
    bob = make_user("bob")
    api.call("POST", f"/users/{bob.id}/disable", token=admin.token)
    for email in ("nobody@example.com", bob.email):
        r = api.call("POST", "/password/reset-request", {"email": email})
        assert r.status_code == 201  # same answer either way: no user enumeration
    assert mailbox.sent == []


def test_password_reset_refuses_forged_expired_and_access_tokens(api, alice, mailbox):
    api.call("POST", "/password/reset-request", {"email": alice.email})
    claims = jwt.decode(mailbox.token(), _secret(), algorithms=["HS256"], issuer="choovio.auth")
    past = int(time.time()) - 3600
    forged = {
        "expired": _forge({**claims, "iat": past, "exp": past + 900}),
        "wrong-key": _forge(claims, key="y" * 48),
        "access": alice.token,
        "no-fingerprint": _forge({k: v for k, v in claims.items() if k != "pwd"}),
    }
    for name, token in forged.items():
        r = api.call("PUT", "/password/reset", {"token": token, "password": NEW_PASSWORD,
                                                "confirm_password": NEW_PASSWORD})
        assert r.status_code == 401, name
    assert api.call("POST", "/users/tokens/issue", {"identity": alice.email, "secret": PASSWORD}).status_code == 201


def test_passwords_are_stored_as_argon2id(api, sql):
    user = api.signup("erin@example.com")
    api.call("PATCH", "/users/secret", {"old_secret": PASSWORD, "new_secret": NEW_PASSWORD},
             api.login("erin@example.com"))
    rows = sql("SELECT * FROM users WHERE id = %s", (user["id"],))
    assert len(rows) == 1
    stored = rows[0]["secret_hash"]
    assert stored.startswith("$argon2id$v=19$")
    for value in rows[0].values():
        assert NEW_PASSWORD not in str(value) and PASSWORD not in str(value)
    # each hash is salted: the same password twice gives different hashes
    other = api.signup("frank@example.com", NEW_PASSWORD)
    assert sql("SELECT secret_hash FROM users WHERE id = %s", (other["id"],))[0]["secret_hash"] != stored


# -- thing keys -----------------------------------------------------------------------------------

def _key_bits(key: str) -> int:
    return len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) * 8


def test_generated_thing_keys_are_long_random_and_unique(api, alice):
    r = api.call("POST", "/things/bulk", [{"name": f"t{i}"} for i in range(50)], alice.token)
    assert r.status_code == 201
    keys = [t["credentials"]["secret"] for t in r.json["things"]]
    assert len(set(keys)) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_\-]+", k) and _key_bits(k) >= 128 for k in keys)
    # rotation gives a new key of the same strength
    thing = r.json["things"][0]
    rotated = api.call("PATCH", f"/things/{thing['id']}/secret", {}, alice.token).json["credentials"]["secret"]
    assert rotated != thing["credentials"]["secret"] and _key_bits(rotated) >= 128


def test_thing_keys_are_not_stored_in_plaintext(api, alice, sql):
    generated = api.thing(alice.token, name="gen")
    chosen_key = "my-own-chosen-key-123456"
    chosen = api.thing(alice.token, name="chosen", credentials={"secret": chosen_key})
    assert chosen["credentials"]["secret"] == chosen_key
    rows = sql("SELECT * FROM things")
    assert len(rows) == 2
    for thing in (generated, chosen):
        key = thing["credentials"]["secret"]
        needles = [key.encode(), key.encode("utf-16-le"), base64.b64encode(key.encode()),
                   base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)) if thing is generated else key.encode()]
        for row in rows:
            for column, value in row.items():
                raw = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                for needle in needles:
                    assert needle not in raw, f"thing key found in things.{column}"
    # ...and yet the key still authenticates the thing and the owner can read it back
    from chalicelib.container import services

    assert services().things.identify(chosen_key).id == chosen["id"]
    assert api.call("GET", f"/things/{chosen['id']}", token=alice.token).json["credentials"]["secret"] == chosen_key


def test_thing_key_rules(api, alice, make_user):
    bob = make_user("bob")
    assert_error(api.call("POST", "/things", {"credentials": {"secret": "short"}}, alice.token), 400)
    key = "a-shared-secret-value-1"
    api.thing(alice.token, credentials={"secret": key})
    # keys are unique across tenants; the conflict says nothing about whose thing holds it
    r = api.call("POST", "/things", {"name": "dup", "credentials": {"secret": key}}, bob.token)
    body = assert_error(r, 409)
    assert alice.id not in r.body.decode() and "alice" not in body["message"]
    r = api.call("POST", "/things/bulk", [{"credentials": {"secret": "b" * 20}}, {"credentials": {"secret": "b" * 20}}],
                 bob.token)
    assert_error(r, 409)
    mine = api.thing(bob.token)
    assert_error(api.call("PATCH", f"/things/{mine['id']}/secret", {"secret": key}, bob.token), 409)
    assert_error(api.call("PATCH", f"/things/{mine['id']}/secret", {"secret": "short"}, bob.token), 400)


def test_old_key_stops_working_after_rotation(api, alice):
    from chalicelib.container import services

    thing = api.thing(alice.token)
    old = thing["credentials"]["secret"]
    new = api.call("PATCH", f"/things/{thing['id']}/secret", {"secret": "rotated-key-0123456789"}, alice.token)
    assert new.status_code == 200 and new.json["credentials"]["secret"] == "rotated-key-0123456789"
    with pytest.raises(Exception) as info:
        services().things.identify(old)
    assert getattr(info.value, "status", None) == 401
    assert services().things.identify("rotated-key-0123456789").id == thing["id"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_thing_keys_and_passwords_are_never_logged(api, make_user, monkeypatch):
    # Every logger, at DEBUG, including those that do not propagate to the root (Chalice's app logger).
    collect = _Collect()
    collect.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict))]
    for logger in loggers:
        monkeypatch.setattr(logger, "level", logging.DEBUG)
        logger.addHandler(collect)
    try:
        alice = make_user("alice")
        chosen = "never-log-this-key-42"
        thing = api.thing(alice.token, credentials={"secret": chosen})
        api.call("PATCH", f"/things/{thing['id']}/secret", {}, alice.token)
        rotated = api.call("GET", f"/things/{thing['id']}", token=alice.token).json["credentials"]["secret"]
        api.call("POST", "/users/tokens/issue", {"identity": alice.email, "secret": "wrong-password-xyz"})
        api.call("POST", "/things", {"credentials": {"secret": chosen}}, alice.token)  # a 409
        api.call("POST", f"/channels/{uuid.uuid4()}/messages", [{"n": "x", "v": 1}],
                 headers={"Authorization": f"Thing {rotated}"})  # a refused publish is logged
        logging.getLogger("platform.canary").warning("canary")
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
    text = "\n".join(collect.lines)
    assert "canary" in text  # the capture works
    for secret in (chosen, rotated, PASSWORD, "wrong-password-xyz", alice.token):
        assert secret not in text
