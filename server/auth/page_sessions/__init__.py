"""The CRM pages' sessions, kept on the server so that they can be ended.

The browser's cookie carries only a random id (256 bits); the backend keeps its
SHA-256 with the session: tenant, user, created, last seen, expires, last checked
with Entra ID, ended (when and why), the pages' per-session values and Entra's
refresh token, sealed. Two backends behind one interface (`records.SessionStore`):
the database (`database_store`, the default) and Redis (`redis_store`, when
REDIS_URL is set), chosen by `store_for(app)` as the job queue is.

Every way a session ends goes through `end_sessions`: signing out, an admin or the
user ending sessions, the CLI, Entra refusing the sign-in at a re-check, the user's
CRM row being gone.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from flask import Flask

from server.auth.page_sessions.database_store import DatabaseSessions
from server.auth.page_sessions.records import (
    ENDED_BY_ADMIN,
    ENDED_BY_USER,
    ENDED_FROM_CLI,
    REASONS,
    SESSION_LIFETIME,
    SIGN_IN_REFUSED,
    SIGNED_OUT,
    USER_REMOVED,
    SessionRecord,
    SessionStore,
    hash_id,
    new_session_id,
)
from server.auth.page_sessions.redis_store import RedisSessions
from server.auth.page_sessions.refresh_tokens import seal, unseal
from server.crm import audit
from server.crm.models import User
from server.crm.types import utcnow
from server.db import Database, session_scope

log = logging.getLogger(__name__)

__all__ = [
    "ENDED_BY_ADMIN",
    "ENDED_BY_USER",
    "ENDED_FROM_CLI",
    "REASONS",
    "SESSION_LIFETIME",
    "SIGNED_OUT",
    "SIGN_IN_REFUSED",
    "USER_REMOVED",
    "SessionRecord",
    "SessionStore",
    "end_sessions",
    "hash_id",
    "new_session_id",
    "seal",
    "start_record",
    "store_for",
    "unseal",
]

_lock = threading.Lock()


def store_for(app: Flask) -> SessionStore:
    """The app's session backend: Redis when REDIS_URL is set, else the database."""
    with _lock:
        store = app.extensions.get("crm_page_sessions")
        if store is None:
            redis_url = app.config.get("REDIS_URL")
            store = RedisSessions(redis_url) if redis_url else DatabaseSessions(Database.state(app).session_factory)
            app.extensions["crm_page_sessions"] = store
        return store


def start_record(
    *, tenant_id: str, user_id: int, user_agent: str, refresh_token: str | None, secret_key: str, now: datetime
) -> tuple[str, SessionRecord]:
    """A new session (not stored yet) and the id its cookie carries."""
    session_id = new_session_id()
    record = SessionRecord(
        id_hash=hash_id(session_id),
        tenant_id=tenant_id,
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
        checked_at=now,
        user_agent=(user_agent or "")[:256],
        refresh_token=seal(secret_key, refresh_token),
    )
    return session_id, record


def end_sessions(
    app: Flask,
    *,
    tenant_id: str,
    user_id: int,
    reason: str,
    only: list[str] | None = None,
    keep: str | None = None,
    actor_id: int | None = None,
) -> int:
    """Ends sessions of one user and answers how many it ended: all of them, or
    `only` those id hashes, never `keep` (the caller's own, when a user ends their
    other sessions). `reason` is one of REASONS; `actor_id` the CRM user who asked
    (None: the user themselves signing out, Entra, the CLI). The one place every
    ending passes through."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    store = store_for(app)
    now = utcnow()
    hashes = [r.id_hash for r in store.of_user(tenant_id, user_id, now)]
    if only is not None:
        hashes = [h for h in hashes if h in set(only)]
    hashes = [h for h in hashes if h != keep]
    ended = store.revoke(hashes, reason, now)
    if ended:
        _audit(app, tenant_id, user_id, reason, ended, actor_id)
    log.info(
        "ended %s page session(s) of user %s in tenant %s: %s (by %s)",
        ended,
        user_id,
        tenant_id,
        reason,
        actor_id if actor_id is not None else "-",
    )
    return ended


def _audit(app: Flask, tenant_id: str, user_id: int, reason: str, ended: int, actor_id: int | None) -> None:
    """The audit log's entry for sessions ended: by whom (the user signing out or
    ending their others, an admin, the command line; nobody when Entra refused the
    sign-in or the user is gone) and why."""
    with session_scope(app) as db:
        if reason == ENDED_FROM_CLI:
            actor = audit.COMMAND_LINE
        elif reason in (SIGNED_OUT, ENDED_BY_USER):
            actor = User.get(db, tenant_id, user_id)
        elif actor_id is not None:
            actor = User.get(db, tenant_id, actor_id)
        else:
            actor = None
        audit.record(
            db,
            tenant_id,
            actor,
            audit.SESSION_ENDED,
            target=("user", user_id),
            after={"reason": reason},
        )
