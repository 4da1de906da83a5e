"""Thing keys: generated with 256 bits of randomness, found by HMAC, kept encrypted.

The HMAC (keyed with a key derived from DATA_KEY) makes the lookup column useless
to someone who steals only the database, even for short user-chosen keys; the
AES-GCM ciphertext lets the owner read the key back, as Magistrala allows.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MIN_KEY_LENGTH = 16


def generate_key() -> str:
    return secrets.token_urlsafe(32)


@lru_cache(maxsize=4)
def _subkey(data_key: str, purpose: bytes) -> bytes:
    return hmac.new(data_key.encode(), purpose, hashlib.sha256).digest()


def lookup_hash(data_key: str, key: str) -> bytes:
    return hmac.new(_subkey(data_key, b"thing-key-lookup"), key.encode(), hashlib.sha256).digest()


def encrypt(data_key: str, key: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_subkey(data_key, b"thing-key-encrypt")).encrypt(nonce, key.encode(), None)


def decrypt(data_key: str, blob: bytes) -> str:
    blob = bytes(blob)
    return AESGCM(_subkey(data_key, b"thing-key-encrypt")).decrypt(blob[:12], blob[12:], None).decode()


def from_authorization(header: str | None) -> str | None:
    """The thing key from `Thing <key>`, a bare key, or Basic auth with the key as password."""
    if not header:
        return None
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "thing" and rest:
        return rest.strip()
    if scheme.lower() == "basic" and rest:
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    if scheme.lower() == "bearer":
        return None
    return header if " " not in header else None
