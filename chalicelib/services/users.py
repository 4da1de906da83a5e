"""Users: registration, login, profile and administration."""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.entities import ADMIN, DISABLED, ENABLED, USER, ListQuery, Page, User, now
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthenticated
from chalicelib.security import passwords, tokens

log = logging.getLogger(__name__)


class MailSender(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_type: str = "Bearer"


def _password_fingerprint(user: User) -> str:
    # Bound into reset tokens: once the password changes, old reset links die.
    return hashlib.sha256(user.secret_hash.encode()).hexdigest()[:16]


class UserService:
    def __init__(self, store: Any, settings: Any, mail: MailSender) -> None:
        self.store = store
        self.settings = settings
        self.mail = mail

    # -- identity ----------------------------------------------------------

    def register(self, caller: User | None, identity: str, secret: str, name: str = "",
                 tags: list[str] | None = None, metadata: dict | None = None,
                 status: str = ENABLED) -> User:
        if caller is None and not self.settings.self_registration:
            raise Unauthenticated("self-registration is disabled; ask an administrator")
        if caller is not None and not caller.is_admin and not self.settings.self_registration:
            raise Forbidden("only administrators can create users")
        _check_password(secret)
        if self.store.get_user_by_identity(identity) is not None:
            raise Conflict("a user with this identity already exists")
        user = User(
            id=str(uuid.uuid4()), identity=identity, secret_hash=passwords.hash_password(secret),
            name=name, tags=tags or [], metadata=metadata or {}, status=status,
        )
        return self.store.save_user(user)

    def ensure_admin(self, identity: str, secret: str) -> User:
        """Create (or promote and re-enable) the bootstrap administrator."""
        user = self.store.get_user_by_identity(identity)
        if user is None:
            user = User(id=str(uuid.uuid4()), identity=identity,
                        secret_hash=passwords.hash_password(secret), name="admin")
        user.role, user.status, user.updated_at = ADMIN, ENABLED, now()
        return self.store.save_user(user)

    def issue_tokens(self, identity: str, secret: str) -> TokenPair:
        user = self.store.get_user_by_identity(identity)
        if user is None:
            passwords.burn_verification_time(secret)
            raise Unauthenticated("wrong identity or secret")
        if not passwords.verify_password(user.secret_hash, secret):
            raise Unauthenticated("wrong identity or secret")
        if user.status != ENABLED:
            raise Unauthenticated("user is disabled")
        return self._pair(user)

    def refresh_tokens(self, refresh_token: str) -> TokenPair:
        claims = tokens.verify(self.settings.jwt_secret, refresh_token, tokens.REFRESH)
        return self._pair(self._active_user(claims["sub"]))

    def authenticate(self, access_token: str) -> User:
        claims = tokens.verify(self.settings.jwt_secret, access_token, tokens.ACCESS)
        return self._active_user(claims["sub"])

    def _active_user(self, user_id: str) -> User:
        user = self.store.get_user(user_id)
        if user is None or user.status != ENABLED:
            raise Unauthenticated("user not found or disabled")
        return user

    def _pair(self, user: User) -> TokenPair:
        s = self.settings
        return TokenPair(
            access_token=tokens.issue(s.jwt_secret, user.id, tokens.ACCESS, s.access_token_ttl),
            refresh_token=tokens.issue(s.jwt_secret, user.id, tokens.REFRESH, s.refresh_token_ttl),
        )

    # -- reading -----------------------------------------------------------

    def view(self, caller: User, user_id: str) -> User:
        if caller.id == user_id:
            return caller
        user = self.store.get_user(user_id) if caller.is_admin else None
        if user is None:
            raise NotFound("user not found")
        return user

    def list(self, caller: User, query: ListQuery) -> Page[User]:
        # Only administrators see other users.
        return self.store.list_users(query, only_id=None if caller.is_admin else caller.id)

    # -- changes -----------------------------------------------------------

    def _change(self, caller: User, user_id: str, **fields: Any) -> User:
        user = self.view(caller, user_id)
        for key, value in fields.items():
            setattr(user, key, value)
        user.updated_at = now()
        return self.store.save_user(user)

    def update(self, caller: User, user_id: str, name: str | None, metadata: dict | None) -> User:
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = name
        if metadata is not None:
            fields["metadata"] = metadata
        return self._change(caller, user_id, **fields)

    def update_tags(self, caller: User, user_id: str, tags: list[str]) -> User:
        return self._change(caller, user_id, tags=tags)

    def update_identity(self, caller: User, user_id: str, identity: str) -> User:
        other = self.store.get_user_by_identity(identity)
        if other is not None and other.id != user_id:
            raise Conflict("a user with this identity already exists")
        return self._change(caller, user_id, identity=identity)

    def update_secret(self, caller: User, old_secret: str, new_secret: str) -> User:
        if not passwords.verify_password(caller.secret_hash, old_secret):
            raise Unauthenticated("old secret is wrong")
        _check_password(new_secret)
        return self._change(caller, caller.id, secret_hash=passwords.hash_password(new_secret))

    def _admin_change(self, caller: User, user_id: str, **fields: Any) -> User:
        if not caller.is_admin:
            raise Forbidden("only administrators can do this")
        return self._change(caller, user_id, **fields)

    def enable(self, caller: User, user_id: str) -> User:
        return self._admin_change(caller, user_id, status=ENABLED)

    def disable(self, caller: User, user_id: str) -> User:
        if caller.is_admin and caller.id == user_id:
            raise BadRequest("administrators cannot disable themselves")
        return self._admin_change(caller, user_id, status=DISABLED)

    def set_role(self, caller: User, user_id: str, role: str) -> User:
        if role not in (ADMIN, USER):
            raise BadRequest("role must be 'admin' or 'user'")
        return self._admin_change(caller, user_id, role=role)

    # -- password reset ----------------------------------------------------

    def request_password_reset(self, email: str, referrer: str) -> None:
        """Mail a reset link; answers the same whether or not the address is known."""
        user = self.store.get_user_by_identity(email)
        if user is None or user.status != ENABLED:
            return
        s = self.settings
        token = tokens.issue(s.jwt_secret, user.id, tokens.RESET, s.reset_token_ttl,
                             pwd=_password_fingerprint(user))
        base = referrer.rstrip("/") if referrer else ""
        self.mail.send(
            user.identity, "Password reset",
            f"To choose a new password, open {base}/reset-password?token={token}\n"
            f"The link expires in {s.reset_token_ttl // 60} minutes.",
        )

    def reset_password(self, token: str, password: str, confirm_password: str) -> None:
        claims = tokens.verify(self.settings.jwt_secret, token, tokens.RESET)
        if password != confirm_password:
            raise BadRequest("password and confirm_password differ")
        _check_password(password)
        user = self._active_user(claims["sub"])
        if claims.get("pwd") != _password_fingerprint(user):
            raise Unauthenticated("reset link already used")
        self._change(user, user.id, secret_hash=passwords.hash_password(password))


def _check_password(secret: str) -> None:
    if len(secret) < passwords.MIN_LENGTH:
        raise BadRequest(f"secret must be at least {passwords.MIN_LENGTH} characters")
