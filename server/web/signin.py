"""Sign in with Microsoft (/auth/...): start the authorization-code round trip, take
its answer at the callback (sign in, or finish Test connection), and sign out.

Signing in begins a server-side session (`page_session.begin`: a new random id in
the cookie, the refresh token sealed in the session backend for the re-checks);
signing out ends it in the backend, so the cookie is worthless afterwards.
`admin` (kept in the session) is whether the id token made the user an
administrator (signed_in_user.py).
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext

from server.crm.tenants import get_or_create_user
from server.db import db_session
from server.sync.time_zones import remember_time_zone_at_sign_in
from server.web import csrf, page_session
from server.web.auth_code_flow import (
    CALLBACK_PATH,
    SIGN_IN_SCOPES,
    FlowError,
    redeem,
    safe_next,
    start_flow,
    validated_identity,
)
from server.web.blueprint import bp
from server.web.connection_check_page import finish_test_connection
from server.web.signed_in_user import current_user


def sign_in_error(message: str, status: int = 400):
    return render_template("crm/signin.html", error=message, next=None), status


@bp.get("/auth/signin")
def signin():
    """Starts the authorization-code flow: off to Microsoft's sign-in page."""
    try:
        return start_flow(
            SIGN_IN_SCOPES,
            purpose="signin",
            next_path=request.args.get("next"),
            login_hint=request.args.get("login_hint"),
        )
    except FlowError as error:
        return sign_in_error(error.message, error.status)


@bp.get(CALLBACK_PATH)
def callback():
    """Where the sign-in page sends the user back with a code: redeem, validate, then
    sign in (or finish what the round trip was for)."""
    flow = session.pop("auth_flow", None)
    purpose = session.pop("auth_purpose", "signin")
    target = safe_next(session.pop("auth_next", None))
    if not flow:
        return sign_in_error(gettext("This sign-in link has expired. Start again."))
    if purpose == "test_connection":
        return finish_test_connection(flow, request.args.to_dict())
    try:
        result = redeem(flow, request.args.to_dict())
        user = validated_identity(result["id_token_claims"])
    except FlowError as error:
        return sign_in_error(error.message, error.status)
    except ValueError as exc:
        return sign_in_error(gettext("The sign-in could not be trusted: %(reason)s.", reason=exc))

    db = db_session()
    crm_user = get_or_create_user(
        db,
        user.tid,
        user.oid,
        upn=user.upn,
        name=user.name,
        auto_link_companies=current_app.config.get("AUTO_LINK_COMPANIES"),
    )
    db.commit()
    remember_time_zone_at_sign_in(current_app.config, db, crm_user)  # the pages' times
    # A new session with a new id: no state from before sign-in survives (session fixation).
    page_session.begin(crm_user, result.get("refresh_token"))
    session["admin"] = user.is_admin  # from the id token's roles and wids, never the database
    csrf.rotate()
    return redirect(target)


@bp.post("/auth/signout")
def signout():
    """Ends this browser's session on the server (the form carries the CSRF token):
    a copy of its cookie signs no one in afterwards."""
    page_session.sign_out()
    return redirect(url_for("web.signed_out"))


@bp.get("/auth/signed-out")
def signed_out():
    """The page after sign-out."""
    if current_user() is not None:
        return redirect(url_for("web.home"))
    return render_template("crm/signin.html", error=None, next=None, signed_out=True)
