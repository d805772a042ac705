"""What every page request goes through: CSRF, sign-in, the CRM user, the pages'
CSP and no-store headers, and the values every template can use."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for

from server.crm.models import User
from server.crm.types import utcnow
from server.db import db_session
from server.web import csrf
from server.web.blueprint import bp
from server.web.page_session import current_record, forget, session_changed
from server.web.security import page_policy
from server.web.session_check import check_due, confirm_sign_in
from server.web.signed_in_user import current_user


@bp.before_request
def guard():
    """CSRF on every unsafe request; sign-in required for every /crm page, and the
    sign-in confirmed with Entra ID every SESSION_RECHECK_S."""
    csrf.protect()
    if not request.path.startswith("/crm/") or request.endpoint == "web.static":
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
    return None


@bp.after_request
def page_headers(response):
    """CSP for the pages (the app's default policy is for the add-in) and no caching
    of private records."""
    if request.endpoint in ("web.static", "web.favicon"):
        return response
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
