"""Exchange-shaped ids, derived deterministically from (user oid, fixture key) so a reset gives the same ids.

Id forms (docs/ARCHITECTURE.md, "Fixture format", says how clients see them):
- REST id: base64url, starts with "AAMkA" like Exchange's; it embeds the folder,
  so moving a message changes it (as in Exchange).
- immutable id: base64url, starts with "AAkAL"; never changes.
- EWS id: the REST id with "-" -> "/" and "_" -> "+".
"""

from __future__ import annotations

import base64
import hashlib
import re

REST_PREFIX = b"\x00\x03\x24\x00"
IMMUTABLE_PREFIX = bytes.fromhex("0009002e00000000001d840311aa6611cd9bc800aa002f845a0d00")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raises ValueError."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", text or ""):
        raise ValueError("not base64url")
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded)


def digest(*parts: str, size: int = 32) -> bytes:
    """`size` bytes that depend only on `parts`: what every derived id is made from."""
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    while len(h) < size:
        h += hashlib.sha256(h).digest()
    return h[:size]


def _id_with_specials(prefix: bytes, *parts: str, size: int) -> str:
    """A deterministic id whose text contains '-' or '_', so EWS/REST conversion is exercised."""
    for salt in range(64):
        text = b64url(prefix + digest(*parts, str(salt), size=size))
        if "-" in text or "_" in text:
            return text
    return text


def rest_item_id(oid: str, kind: str, key: str, folder: str) -> str:
    return _id_with_specials(
        REST_PREFIX + oid.encode() + b"\x00\x46\x00\x00\x00\x00\x00", "rest", oid, kind, key, folder, size=38
    )


def immutable_item_id(oid: str, kind: str, key: str) -> str:
    return _id_with_specials(IMMUTABLE_PREFIX, "immutable", oid, kind, key, size=43)


def folder_item_id(oid: str, key: str) -> str:
    return _id_with_specials(REST_PREFIX + oid.encode() + b"\x00\x2e\x00\x00\x00\x00\x00", "folder", oid, key, size=22)


def rest_to_ews(rest_id: str) -> str:
    return rest_id.replace("-", "/").replace("_", "+")


def ews_to_rest(ews_id: str) -> str:
    return ews_id.replace("/", "-").replace("+", "_")


def looks_like_item_id(value: str) -> bool:
    """True when `value` is shaped like an Exchange REST or immutable id (any mailbox)."""
    try:
        raw = b64url_decode(value)
    except (ValueError, TypeError):
        return False
    return (raw.startswith(REST_PREFIX) or raw.startswith(IMMUTABLE_PREFIX)) and len(raw) > 30


def change_key_for(*parts: str) -> str:
    # Exchange change keys are standard base64 starting "CQAAABYAAAA" (09 00 00 00 16 00 00 00).
    return base64.b64encode(b"\x09\x00\x00\x00\x16\x00\x00\x00" + digest("ck", *parts, size=22)).decode()
