"""A signed-in page session made directly in the app's session backend, for browser
tests whose backend listens on a port no redirect URI of the emulator's app names (so
they cannot go through the sign-in page; tests/server/web/ does)."""

from __future__ import annotations

from server.auth.page_sessions import start_record, store_for
from server.crm.tenants import get_or_create_user
from server.crm.types import utcnow
from server.db import session_scope


def signed_in_cookie(
    app, tid: str, oid: str, upn: str, name: str, csrf: str = "browser-test-token", admin: bool = False
) -> str:
    """The value of the session cookie of a new session of this user (created if new),
    as /auth/callback would begin it, with `csrf` as its CSRF token and `admin` what
    the sign-in's id token said (its roles and wids claims)."""
    with session_scope(app) as session:
        user = get_or_create_user(session, tid, oid, upn=upn, name=name)
        session.flush()
        tenant_id, user_id = user.tenant_id, user.id
    session_id, record = start_record(
        tenant_id=tenant_id,
        user_id=user_id,
        user_agent="tests",
        refresh_token=None,
        secret_key=app.config["SECRET_KEY"],
        now=utcnow(),
    )
    record.data = {"csrf": csrf, "admin": admin}
    store_for(app).create(record)
    return session_id
