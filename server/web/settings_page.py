"""The admin settings page (/crm/settings): tenant defaults, per-user overrides and
"Test connection".

Who is admin: the tenant's first user, i.e. the first person of the organization to
use CRM Sync (pane or pages; the lowest users.id of the tenant). Everyone else sees
the settings that apply to them, read-only, and who can change them.
"""
from __future__ import annotations

import re
from dataclasses import asdict

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.auth import trusted_session
from server.crm.addresses import normalise_address
from server.crm.models import AUTO_SYNC_MODES, Tenant, User
from server.db import db_session
from server.sync.connection_check import Check, DelegatedProblem, check_connection
from server.sync.subscriptions import follow_settings
from server.web.blueprint import bp
from server.web.signin import FlowError, current_user, redeem, start_flow, validated_identity

MAX_NEVER_SYNC = 500
# What the app does with a user's own token; Test connection asks for exactly these.
DELEGATED_SCOPES = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite"]
INHERIT = "inherit"
AUTO_SYNC_LABELS = {
    "off": "Off: only what users file by hand",
    "marked": "Marked: messages marked unsynced or categorised \"Sync to CRM\"",
    "known_contacts": "Known contacts: all mail from or to CRM contacts",
}


def admin_of(session_: Session, tenant_id: str) -> User | None:
    """The tenant's administrator: its first user."""
    return session_.scalar(select(User).where(User.tenant_id == tenant_id).order_by(User.id).limit(1))


def is_admin(session_: Session, user: User) -> bool:
    first = session_.scalar(select(func.min(User.id)).where(User.tenant_id == user.tenant_id))
    return first == user.id


def parse_never_sync(raw: str) -> tuple[list[str], list[str]]:
    """(entries, problems) from one address or domain per line (commas work too).
    Addresses are normalised; domains lose a leading @ and are IDNA-encoded."""
    entries: list[str] = []
    problems: list[str] = []
    for item in re.split(r"[\n,;]+", raw or ""):
        item = item.strip()
        if not item:
            continue
        if "@" in item.lstrip("@"):
            normal = normalise_address(item)
        else:
            address = normalise_address(f"x@{item.lstrip('@')}")
            normal = address.split("@", 1)[1] if address and "." in address.split("@", 1)[1] else None
        if normal is None:
            problems.append(f"\"{item}\" is neither an email address nor a domain.")
        elif normal not in entries:
            entries.append(normal)
    if len(entries) > MAX_NEVER_SYNC:
        problems.append(f"At most {MAX_NEVER_SYNC} entries.")
    return entries, problems


def _page(status: int = 200, *, errors: list[str] | None = None, saved: str | None = None, checks=None):
    db = db_session()
    user: User = g.crm_user
    tenant = db.get(Tenant, user.tenant_id)
    admin = is_admin(db, user)
    users = list(db.scalars(select(User).where(User.tenant_id == user.tenant_id)
                            .order_by(User.display_name, User.id).limit(500))) if admin else [user]
    return render_template(
        "crm/settings.html", tenant=tenant, tenant_settings=tenant.effective_settings(),
        users=users, me=user, admin=admin, admin_user=admin_of(db, user.tenant_id),
        modes=AUTO_SYNC_MODES, mode_labels=AUTO_SYNC_LABELS, errors=errors or [],
        saved=saved or session.pop("settings_saved", None), checks=checks), status


def require_admin() -> None:
    if not is_admin(db_session(), g.crm_user):
        abort(403)


@bp.get("/crm/settings")
def settings():
    """Tenant defaults and per-user overrides (admins change them; others read)."""
    stored = session.pop("connection_checks", None)
    checks = [Check(**c) for c in stored] if isinstance(stored, list) else None
    return _page(checks=checks)


@bp.post("/crm/settings/tenant")
def save_tenant_settings():
    """Saves the tenant's defaults."""
    require_admin()
    db = db_session()
    never_sync, problems = parse_never_sync(request.form.get("never_sync", ""))
    mode = request.form.get("auto_sync")
    if mode not in AUTO_SYNC_MODES:
        problems.append("Choose an automatic sync mode.")
    if problems:
        return _page(400, errors=problems)
    tenant = db.get(Tenant, g.crm_user.tenant_id)
    before = tenant.effective_settings().get("auto_sync")
    tenant.update_settings(auto_link_companies=request.form.get("auto_link_companies") == "on",
                           auto_sync=mode, never_sync=never_sync)
    db.commit()
    # The tenant's users are subscribed (or unsubscribed) now, not at the hourly upkeep.
    follow_settings(current_app._get_current_object(), before, mode, tenant_id=tenant.id)
    session["settings_saved"] = "Saved the organization's defaults."
    return redirect(url_for("web.settings"), code=303)


@bp.post("/crm/settings/users/<int:user_id>")
def save_user_settings(user_id: int):
    """Saves one user's overrides; "inherit" falls back to the tenant's default."""
    require_admin()
    db = db_session()
    target = User.get(db, g.crm_user.tenant_id, user_id)
    if target is None:
        abort(404)
    never_sync, problems = parse_never_sync(request.form.get("never_sync", ""))
    link = request.form.get("auto_link_companies", INHERIT)
    mode = request.form.get("auto_sync", INHERIT)
    if link not in (INHERIT, "on", "off"):
        problems.append("Choose whether to link companies automatically.")
    if mode != INHERIT and mode not in AUTO_SYNC_MODES:
        problems.append("Choose an automatic sync mode.")
    if problems:
        return _page(400, errors=problems)
    before = target.effective_settings().get("auto_sync")
    target.update_settings(
        auto_link_companies=None if link == INHERIT else link == "on",
        auto_sync=None if mode == INHERIT else mode,
        never_sync=never_sync or None)
    db.commit()
    follow_settings(current_app._get_current_object(), before, target.effective_settings().get("auto_sync"),
                    user=target)
    session["settings_saved"] = f"Saved the settings of {target.display_name or target.upn}."
    return redirect(url_for("web.settings") + f"#user-{target.id}", code=303)


@bp.post("/crm/settings/test-connection")
def test_connection():
    """Checks token, consent, Graph access and categories for the admin's mailbox.

    First a silent authorize round trip (prompt=none) for the admin's own delegated
    Graph token, so consent for users is checked as well as the app's; the checks
    run when it comes back (finish_test_connection)."""
    require_admin()
    user: User = g.crm_user
    try:
        return start_flow(DELEGATED_SCOPES, purpose="test_connection", next_path=url_for("web.settings"),
                          prompt="none", login_hint=user.upn)
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
    if user is None or not is_admin(db, user):
        abort(403)
    token, problem = None, None
    try:
        result = redeem(flow, answer)
        identity = validated_identity(result["id_token_claims"])
        if (identity.tid, identity.oid) != (user.tenant_id, user.oid):
            problem = DelegatedProblem("wrong_user", "Microsoft answered for another account than yours.")
        else:
            token = result["access_token"]
    except FlowError as error:
        problem = DelegatedProblem(error.code, error.message)
    except ValueError as exc:
        problem = DelegatedProblem("untrusted", f"The answer could not be trusted: {exc}.")
    return _run_checks(user, problem, token)


def _run_checks(user: User, problem: DelegatedProblem | None, token: str | None = None):
    checks = check_connection(current_app.config, trusted_session(), tid=user.tenant_id,
                              user_oid=user.oid, user_upn=user.upn,
                              delegated_token=(lambda: token) if token else None, delegated_problem=problem)
    # Post/redirect/get: a reload of the results page never replays the used code.
    session["connection_checks"] = [asdict(c) for c in checks]
    return redirect(url_for("web.settings") + "#connection", code=303)
