"""Test connection on the settings page (POST /crm/settings/test-connection): a
silent authorize round trip for the admin's own delegated Graph token, then every
check of server/sync/connection_check.py; the results are shown once on the
settings page. The sign-in callback hands the round trip's answer back here."""

from __future__ import annotations

from dataclasses import asdict

from flask import abort, current_app, g, redirect, session, url_for
from flask_babel import gettext, refresh

from server.auth import trusted_session
from server.crm import audit
from server.crm.models import User
from server.db import db_session
from server.sync.app_access_check import check_mailbox_scope
from server.sync.connection_check import DelegatedProblem, check_connection
from server.web.admin_access import is_admin, require_admin
from server.web.auth_code_flow import FlowError, redeem, start_flow, validated_identity
from server.web.blueprint import bp
from server.web.signed_in_user import current_user

# What the app does with a user's own token; Test connection asks for exactly these.
DELEGATED_SCOPES = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite"]


@bp.post("/crm/settings/test-connection")
def test_connection():
    """Checks token, consent, Graph access and categories for the admin's mailbox, and
    which of the tenant's mailboxes the app may open (its access may be scoped).

    First a silent authorize round trip (prompt=none) for the admin's own delegated
    Graph token, so consent for users is checked as well as the app's; the checks
    run when it comes back (finish_test_connection)."""
    require_admin()
    user: User = g.crm_user
    try:
        return start_flow(
            DELEGATED_SCOPES,
            purpose="test_connection",
            next_path=url_for("web.settings"),
            prompt="none",
            login_hint=user.upn,
        )
    except FlowError as error:
        return _run_checks(user, DelegatedProblem(error.code, error.message))


def finish_test_connection(flow: dict, answer: dict):
    """The round trip's callback: the delegated token (or why there is none), then
    every check; the results are shown once on the settings page."""
    signed_in = current_user()
    if signed_in is None:
        return redirect(url_for("web.signin", next=url_for("web.settings")))
    db = db_session()
    user = User.by_oid(db, signed_in.tid, signed_in.oid)
    if user is None or not is_admin():
        abort(403)
    g.crm_user = user  # the results speak the user's chosen language (/auth/ pages have no CRM user)
    refresh()
    token, problem = None, None
    try:
        result = redeem(flow, answer)
        identity = validated_identity(result["id_token_claims"])
        if (identity.tid, identity.oid) != (user.tenant_id, user.oid):
            problem = DelegatedProblem("wrong_user", gettext("Microsoft answered for another account than yours."))
        else:
            token = result["access_token"]
    except FlowError as error:
        problem = DelegatedProblem(error.code, error.message)
    except ValueError as exc:
        problem = DelegatedProblem("untrusted", gettext("The answer could not be trusted: %(reason)s.", reason=exc))
    return _run_checks(user, problem, token)


def _run_checks(user: User, problem: DelegatedProblem | None, token: str | None = None):
    checks = check_connection(
        current_app.config,
        trusted_session(),
        tid=user.tenant_id,
        user_oid=user.oid,
        user_upn=user.upn,
        delegated_token=(lambda: token) if token else None,
        delegated_problem=problem,
    )
    # Whether the app's own access is scoped to some mailboxes (and which are left out).
    checks.append(
        check_mailbox_scope(current_app._get_current_object(), trusted_session(), db_session(), user.tenant_id)
    )
    db = db_session()
    audit.record(
        db,
        user.tenant_id,
        user,
        audit.CONNECTION_TESTED,
        target=("tenant", user.tenant_id),
        after={"checks": [f"{c.name}: {c.status}" for c in checks]},
    )
    db.commit()
    # Post/redirect/get: a reload of the results page never replays the used code.
    session["connection_checks"] = [asdict(c) for c in checks]
    return redirect(url_for("web.settings") + "#connection", code=303)
