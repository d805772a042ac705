"""What a page session is, whichever backend keeps it: `SessionRecord`, the random id
and its hash, the reasons a session ends, and the interface of a backend."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

# Sign in again after a working day, whatever happens in between.
SESSION_LIFETIME = timedelta(hours=12)
# The id's random bytes: 256 bits, far beyond guessing.
ID_BYTES = 32

# Why a session ended (stored with it; the audit log will show them).
SIGNED_OUT = "signed_out"
ENDED_BY_ADMIN = "ended_by_admin"
ENDED_BY_USER = "ended_by_user"  # the user ended another session of their own
ENDED_FROM_CLI = "ended_from_cli"
SIGN_IN_REFUSED = "sign_in_refused"  # Entra refused the silent refresh
USER_REMOVED = "user_removed"
REASONS = (SIGNED_OUT, ENDED_BY_ADMIN, ENDED_BY_USER, ENDED_FROM_CLI, SIGN_IN_REFUSED, USER_REMOVED)


def new_session_id() -> str:
    """A fresh random session id, as the cookie carries it."""
    return secrets.token_urlsafe(ID_BYTES)


def hash_id(session_id: str) -> str:
    """The SHA-256 (hex) of a session id: what the backends store and look up."""
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


@dataclass
class SessionRecord:
    """One signed-in browser. `data` holds the pages' per-session values (the CSRF
    token, one-time notices); `refresh_token` is sealed (`refresh_tokens.seal`)."""

    id_hash: str
    tenant_id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    checked_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    user_agent: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    refresh_token: str | None = None

    def live(self, now: datetime) -> bool:
        """Neither ended nor past its lifetime."""
        return self.revoked_at is None and now < self.expires_at


class SessionStore(Protocol):
    """Where page sessions are kept: the database (`DatabaseSessions`) or Redis
    (`RedisSessions`). Every method takes and returns whole records."""

    def create(self, record: SessionRecord) -> None:
        """Stores a new session."""

    def get(self, id_hash: str) -> SessionRecord | None:
        """The session with this id hash, live or not (None when unknown)."""

    def save(self, record: SessionRecord) -> None:
        """Writes what may change during a session: last seen, checked, refresh token, data."""

    def of_user(self, tenant_id: str, user_id: int, now: datetime) -> list[SessionRecord]:
        """The user's live sessions, newest first."""

    def of_tenant(self, tenant_id: str, now: datetime) -> list[SessionRecord]:
        """Every live session of the tenant (the admin's list)."""

    def revoke(self, id_hashes: list[str], reason: str, now: datetime) -> int:
        """Ends these sessions (those still live); answers how many it ended."""
