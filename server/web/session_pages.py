"""Who is signed in to the pages, and ending it.

- /crm/settings/sessions: the signed-in user's own sessions (this browser marked),
  each of the others with End, and End all other sessions.
- /crm/admin/sessions: the admin's list of the organization's users with sessions,
  each with End sessions (the user must sign in again on every browser).

Every form posts its CSRF token; every ending goes through `end_sessions`.
"""

from __future__ import annotations

from collections import Counter

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import ngettext
from sqlalchemy import select

from server.auth.page_sessions import ENDED_BY_ADMIN, ENDED_BY_USER, end_sessions, store_for
from server.crm.models import User
from server.crm.types import utcnow
from server.db import db_session
from server.web.admin_access import admin_user
from server.web.blueprint import bp
from server.web.page_session import current_record

# A session is named in forms by the start of its id's hash (never the id): enough to
# tell one user's sessions apart, too little to be anyone's key.
HANDLE_LENGTH = 16
NOTICE = "sessions_notice"


def handle(id_hash: str) -> str:
    return id_hash[:HANDLE_LENGTH]


@bp.get("/crm/settings/sessions")
def my_sessions():
    """The signed-in user's sessions."""
    me: User = g.crm_user
    this = current_record()
    records = store_for(current_app._get_current_object()).of_user(me.tenant_id, me.id, utcnow())
    rows = [
        {"handle": handle(r.id_hash), "record": r, "this": this is not None and r.id_hash == this.id_hash}
        for r in records
    ]
    return render_template("crm/my_sessions.html", rows=rows, notice=session.pop(NOTICE, None))


@bp.post("/crm/settings/sessions/end")
def end_my_sessions():
    """Ends one other session of the user's (`session` = its handle) or all the others
    (`session` = "others"); this browser's session stays."""
    me: User = g.crm_user
    this = current_record()
    app = current_app._get_current_object()
    wanted = request.form.get("session", "")
    only = None
    if wanted != "others":
        only = [r.id_hash for r in store_for(app).of_user(me.tenant_id, me.id, utcnow()) if handle(r.id_hash) == wanted]
        if not only:
            abort(404)
    ended = end_sessions(
        app,
        tenant_id=me.tenant_id,
        user_id=me.id,
        reason=ENDED_BY_USER,
        only=only,
        keep=this.id_hash if this is not None else None,
        actor_id=me.id,
    )
    session[NOTICE] = ngettext("Ended %(num)d session.", "Ended %(num)d sessions.", ended)
    return redirect(url_for("web.my_sessions"), code=303)


@bp.get("/crm/admin/sessions")
def admin_sessions():
    """The organization's users with their live sessions, each with End sessions."""
    admin = admin_user()
    records = store_for(current_app._get_current_object()).of_tenant(admin.tenant_id, utcnow())
    counts = Counter(r.user_id for r in records)
    last_seen: dict[int, object] = {}
    for r in records:
        if r.user_id not in last_seen or r.last_seen_at > last_seen[r.user_id]:
            last_seen[r.user_id] = r.last_seen_at
    users = (
        list(
            db_session().scalars(
                select(User)
                .where(User.tenant_id == admin.tenant_id, User.id.in_(list(counts)))
                .order_by(User.display_name, User.id)
            )
        )
        if counts
        else []
    )
    rows = [{"user": u, "count": counts[u.id], "last_seen": last_seen[u.id]} for u in users]
    return render_template("crm/admin_sessions.html", rows=rows, notice=session.pop(NOTICE, None))


@bp.post("/crm/admin/sessions/users/<int:user_id>/end")
def admin_end_sessions(user_id: int):
    """Ends every session of one user of the organization (the admin's own too, if asked)."""
    admin = admin_user()
    target = User.get(db_session(), admin.tenant_id, user_id)
    if target is None:
        abort(404)
    ended = end_sessions(
        current_app._get_current_object(),
        tenant_id=target.tenant_id,
        user_id=target.id,
        reason=ENDED_BY_ADMIN,
        actor_id=admin.id,
    )
    session[NOTICE] = ngettext(
        "Ended %(num)d session of %(name)s.",
        "Ended %(num)d sessions of %(name)s.",
        ended,
        name=target.display_name or target.upn,
    )
    return redirect(url_for("web.admin_sessions"), code=303)
