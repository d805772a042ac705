"""What every page request goes through: CSRF, sign-in, the CRM user, the pages'
CSP and no-store headers, and the values every template can use."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, request, url_for

from server.crm.models import User
from server.crm.tenants import get_or_create_user
from server.db import db_session
from server.web import csrf
from server.web.blueprint import bp
from server.web.security import page_policy
from server.web.signed_in_user import current_user


@bp.before_request
def guard():
    """CSRF on every unsafe request; sign-in required for every /crm page."""
    csrf.protect()
    if not request.path.startswith("/crm/") or request.endpoint == "web.static":
        return None
    user = current_user()
    if user is None:
        if request.method == "GET":
            return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
        abort(401)
    db = db_session()
    crm_user = User.by_oid(db, user.tid, user.oid)
    if crm_user is None:  # signed in before the CRM user existed (e.g. a restored database)
        crm_user = get_or_create_user(
            db,
            user.tid,
            user.oid,
            upn=user.upn,
            name=user.name,
            auto_link_companies=current_app.config.get("AUTO_LINK_COMPANIES"),
        )
        db.commit()
    g.crm_user = crm_user
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
