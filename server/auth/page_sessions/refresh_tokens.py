"""Entra's refresh token of a page session, sealed before it is stored: Fernet
(AES-128-CBC with an HMAC-SHA256) under a key derived from SECRET_KEY, so the
database or Redis alone does not give it away."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

KEY_PURPOSE = b"crm page session refresh token\x00"


def _fernet(secret_key: str) -> Fernet:
    key = hashlib.sha256(KEY_PURPOSE + str(secret_key).encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, refresh_token: str | None) -> str | None:
    if not refresh_token:
        return None
    return _fernet(secret_key).encrypt(refresh_token.encode("utf-8")).decode("ascii")


def unseal(secret_key: str, sealed: str | None) -> str | None:
    """The refresh token, or None (none stored, or sealed under another SECRET_KEY)."""
    if not sealed:
        return None
    try:
        return _fernet(secret_key).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
