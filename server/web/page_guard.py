"""What every page request goes through: sign-in, the CRM user, the admin right of
an admin-only view, CSRF, the pages' CSP and no-store headers, and the values every
template can use.

The order is the point: every check that needs no body (the session, the admin right,
an upload's token in its header or query string) comes before anything reads the body,
so nobody who may not post can make a worker read, parse or spool one."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, request, url_for

from server.crm.models import User
from server.crm.types import utcnow
from server.db import db_session
from server.web import csrf
from server.web.admin_access import require_admin
from server.web.blueprint import bp
from server.web.page_session import current_record, forget, session_changed
from server.web.security import page_policy
from server.web.session_check import check_due, confirm_sign_in
from server.web.signed_in_user import current_user


@bp.before_request
def guard():
    """Sign-in required for every /crm page, the sign-in confirmed with Entra ID
    every SESSION_RECHECK_S, and the admin right for an admin-only view; then CSRF on
    every unsafe request. Nothing of a large body is read before all of these pass."""
    if not request.path.startswith("/crm/") or request.endpoint == "web.static":
        csrf.protect()
        return None
    user = current_user()
    record = current_record()
    if user is not None and record is not None and check_due(record, now := utcnow()):
        if confirm_sign_in(record, user, now):
            session_changed()
        else:
            forget()
            user = None
    if user is None or record is None:
        if request.method == "GET":
            return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
        abort(401)
    g.crm_user = User.get(db_session(), record.tenant_id, record.user_id)
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "admin_only", False):
        require_admin()
    # An upload's body is large: its token is not looked for in it.
    csrf.protect(read_body=getattr(view, "upload_limit_setting", None) is None)
    return None


@bp.after_request
def page_headers(response):
    """CSP for the pages (the app's default policy is for the add-in) and no caching
    of private records."""
    if request.endpoint in ("web.static", "web.favicon"):
        return response
    if g.get("file_download"):
        return response  # a file keeps its own headers (sandboxing CSP, nosniff, no-store)
    response.headers["Content-Security-Policy"] = page_policy(
        remote_images=bool(g.get("show_remote_images")), inline_style_attributes=bool(g.get("email_body_shown"))
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global("csrf_token")
def csrf_token_global() -> str:
    return csrf.csrf_token()


@bp.context_processor
def page_context():
    return {
        "signed_in": current_user(),
        "query": request.args.get("q", "") if request.endpoint in ("web.search", "web.home") else "",
    }
