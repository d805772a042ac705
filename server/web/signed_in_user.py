"""Who is signed in to the pages: the user of the request's server-side session
(`page_session`), for a working day at most. The cookie holds only the session's id.
Whether they administer CRM Sync is what the id token of the sign-in said (its `roles`
and `wids` claims), kept in the session, never what the database holds: a change in
Entra ID applies at the next sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, session

from server.auth.page_sessions import USER_REMOVED, end_sessions
from server.crm.models import User
from server.db import db_session
from server.web.page_session import current_record, forget


@dataclass(frozen=True)
class WebUser:
    """Who is signed in to the pages (their CRM user's tenant, object id, UPN, name)."""

    tid: str
    oid: str
    upn: str
    name: str
    is_admin: bool = False  # from the id token's claims at sign-in


def current_user() -> WebUser | None:
    """The signed-in user of this request, or None (also when the session has ended
    or expired). A session whose CRM user no longer exists is ended here."""
    if "web_user" in g:
        return g.web_user
    record = current_record()
    user = None
    if record is not None:
        row = User.get(db_session(), record.tenant_id, record.user_id)
        if row is None:
            end_sessions(
                current_app._get_current_object(),
                tenant_id=record.tenant_id,
                user_id=record.user_id,
                reason=USER_REMOVED,
            )
            forget()
        else:
            user = WebUser(
                tid=row.tenant_id,
                oid=row.oid,
                upn=row.upn,
                name=row.display_name,
                is_admin=session.get("admin") is True,
            )
    g.web_user = user
    return user
