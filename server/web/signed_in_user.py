"""Who is signed in to the pages: the user kept in the session cookie as
{tid, oid, upn, name, admin} only (no token), for a working day at most. `admin` is
what the id token of the sign-in said (its `roles` and `wids` claims), never what the
database holds: a change in Entra ID applies at the next sign-in."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import g, session

SESSION_MAX_AGE_S = 12 * 3600  # sign in again after a working day


@dataclass(frozen=True)
class WebUser:
    """Who is signed in to the pages (from the validated id token)."""

    tid: str
    oid: str
    upn: str
    name: str
    is_admin: bool = False  # from the id token's claims at sign-in


def current_user() -> WebUser | None:
    """The signed-in user of this request, or None (also when the session is too old)."""
    if "web_user" in g:
        return g.web_user
    data = session.get("user")
    user = None
    if isinstance(data, dict) and time.time() - float(session.get("signed_in_at") or 0) < SESSION_MAX_AGE_S:
        user = WebUser(
            tid=data.get("tid", ""),
            oid=data.get("oid", ""),
            upn=data.get("upn", ""),
            name=data.get("name", ""),
            is_admin=data.get("admin") is True,
        )
    g.web_user = user
    return user
