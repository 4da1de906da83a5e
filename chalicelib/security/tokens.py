"""Signed JWTs for users: access (1 h), refresh (24 h) and password reset.

Only HS256 is accepted, so "alg": "none" and algorithm-confusion tokens fail.
The token type is checked on every use: a refresh token is not an access token.
"""
from __future__ import annotations

import time
import uuid

import jwt

from chalicelib.errors import Unauthenticated

ACCESS = "access"
REFRESH = "refresh"
RESET = "reset"
ISSUER = "choovio.auth"
_ALGORITHM = "HS256"


def issue(secret: str, subject: str, token_type: str, ttl: int, **claims: str) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "sub": subject,
        "type": token_type,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def verify(secret: str, token: str, token_type: str) -> dict:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "type"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("invalid token") from None
    if claims.get("type") != token_type:
        raise Unauthenticated(f"expected an {token_type} token")
    return claims
