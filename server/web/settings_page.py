"""The settings page (/crm/settings): tenant defaults and per-user overrides.

The tenant's admin (see admin_access.py) changes them; everyone else sees the
settings that apply to them, read-only, and who can change them. Test connection,
shown on this page, is connection_check_page.py.
"""

from __future__ import annotations

import re

from flask import (
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, lazy_gettext, refresh
from sqlalchemy import select

from server.crm import audit
from server.crm.addresses import normalise_address
from server.crm.models import AUTO_SYNC_MODES, COMPOSE_DEFAULTS, PAGE_LANGUAGES, Tenant, User
from server.db import db_session
from server.sync.connection_check import CHECK_NAMES, Check
from server.sync.subscriptions import follow_settings
from server.web.admin_access import admin_of, is_admin, require_admin
from server.web.blueprint import bp
from server.web.i18n import LANGUAGE_NAMES

MAX_NEVER_SYNC = 500
INHERIT = "inherit"
AUTO_SYNC_LABELS = {
    "off": lazy_gettext("Off: only what users file by hand"),
    "marked": lazy_gettext('Marked: messages marked unsynced or categorised "Sync to CRM"'),
    "known_contacts": lazy_gettext("Known contacts: all mail from or to CRM contacts"),
}
# The modes' short names, for the people's menus.
AUTO_SYNC_NAMES = {
    "off": lazy_gettext("Off"),
    "marked": lazy_gettext("Marked"),
    "known_contacts": lazy_gettext("Known contacts"),
}
AUTOMATIC_LANGUAGE = "auto"
COMPOSE_LABELS = {
    "always": lazy_gettext("Always"),
    "crm_recipients": lazy_gettext("When a recipient is a CRM contact"),
    "never": lazy_gettext("Never"),
}


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
            problems.append(gettext('"%(entry)s" is neither an email address nor a domain.', entry=item))
        elif normal not in entries:
            entries.append(normal)
    if len(entries) > MAX_NEVER_SYNC:
        problems.append(gettext("At most %(count)s entries.", count=MAX_NEVER_SYNC))
    return entries, problems


def render_settings(status: int = 200, *, errors: list[str] | None = None, saved: str | None = None, checks=None):
    db = db_session()
    user: User = g.crm_user
    tenant = db.get(Tenant, user.tenant_id)
    admin = is_admin(db, user)
    users = (
        list(
            db.scalars(
                select(User).where(User.tenant_id == user.tenant_id).order_by(User.display_name, User.id).limit(500)
            )
        )
        if admin
        else [user]
    )
    return render_template(
        "crm/settings.html",
        tenant=tenant,
        tenant_settings=tenant.effective_settings(),
        users=users,
        me=user,
        admin=admin,
        admin_user=admin_of(db, user.tenant_id),
        modes=AUTO_SYNC_MODES,
        mode_labels=AUTO_SYNC_LABELS,
        mode_names=AUTO_SYNC_NAMES,
        language_names=LANGUAGE_NAMES,
        my_language=(user.settings or {}).get("language"),
        my_settings=user.effective_settings(),
        compose_choices=COMPOSE_DEFAULTS,
        compose_labels=COMPOSE_LABELS,
        my_time_zone=user.time_zone,
        errors=errors or [],
        saved=saved or session.pop("settings_saved", None),
        checks=checks,
        check_names=CHECK_NAMES,
    ), status


@bp.get("/crm/settings")
def settings():
    """Tenant defaults and per-user overrides (admins change them; others read)."""
    stored = session.pop("connection_checks", None)
    checks = [Check(**c) for c in stored] if isinstance(stored, list) else None
    return render_settings(checks=checks)


@bp.post("/crm/settings/tenant")
def save_tenant_settings():
    """Saves the tenant's defaults."""
    require_admin()
    db = db_session()
    never_sync, problems = parse_never_sync(request.form.get("never_sync", ""))
    mode = request.form.get("auto_sync")
    if mode not in AUTO_SYNC_MODES:
        problems.append(gettext("Choose an automatic sync mode."))
    compose_limit = request.form.get("compose_limit", "always")
    if compose_limit not in COMPOSE_DEFAULTS:
        problems.append(gettext("Choose how much users may file from compose."))
    if problems:
        return render_settings(400, errors=problems)
    tenant = db.get(Tenant, g.crm_user.tenant_id)
    defaults_before = tenant.effective_settings()
    before = defaults_before.get("auto_sync")
    tenant.update_settings(
        auto_link_companies=request.form.get("auto_link_companies") == "on",
        create_unknown_senders=request.form.get("create_unknown_senders") == "on",
        store_attachments=request.form.get("store_attachments") == "on",
        auto_sync=mode,
        never_sync=never_sync,
        compose_limit=compose_limit,
    )
    audit.record_change(
        db,
        tenant.id,
        g.crm_user,
        audit.SETTINGS_TENANT_CHANGED,
        defaults_before,
        tenant.effective_settings(),
        target=("tenant", tenant.id),
    )
    db.commit()
    # The tenant's users are subscribed (or unsubscribed) now, not at the hourly upkeep.
    follow_settings(current_app._get_current_object(), before, mode, tenant_id=tenant.id)
    session["settings_saved"] = gettext("Saved the organization's defaults.")
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
        problems.append(gettext("Choose whether to link companies automatically."))
    if mode != INHERIT and mode not in AUTO_SYNC_MODES:
        problems.append(gettext("Choose an automatic sync mode."))
    if problems:
        return render_settings(400, errors=problems)
    before = target.effective_settings().get("auto_sync")
    overrides_before = dict(target.settings or {})
    target.update_settings(
        auto_link_companies=None if link == INHERIT else link == "on",
        auto_sync=None if mode == INHERIT else mode,
        never_sync=never_sync or None,
    )
    audit.record_change(
        db,
        target.tenant_id,
        g.crm_user,
        audit.SETTINGS_USER_OVERRIDE_CHANGED,
        overrides_before,
        dict(target.settings or {}),
        target=("user", target.id),
    )
    db.commit()
    follow_settings(
        current_app._get_current_object(), before, target.effective_settings().get("auto_sync"), user=target
    )
    session["settings_saved"] = gettext("Saved the settings of %(name)s.", name=target.display_name or target.upn)
    return redirect(url_for("web.settings") + f"#user-{target.id}", code=303)


@bp.post("/crm/settings/me")
def save_my_preferences():
    """Saves the signed-in user's own preferences (everyone may): the pages' language
    and filing from compose (the toggle's default, asking at Send)."""
    db = db_session()
    user: User = g.crm_user
    language = request.form.get("language", AUTOMATIC_LANGUAGE)
    if language != AUTOMATIC_LANGUAGE and language not in PAGE_LANGUAGES:
        return render_settings(400, errors=[gettext("Choose one of the languages offered.")])
    changes: dict = {"language": None if language == AUTOMATIC_LANGUAGE else language}
    if "compose_default" in request.form:
        if request.form["compose_default"] not in COMPOSE_DEFAULTS:
            return render_settings(400, errors=[gettext("Choose when to file the emails you write.")])
        changes["compose_default"] = request.form["compose_default"]
        changes["ask_on_send"] = request.form.get("ask_on_send") == "on"
    own_before = dict(user.settings or {})
    user.update_settings(**changes)
    audit.record_change(
        db,
        user.tenant_id,
        user,
        audit.SETTINGS_OWN_CHANGED,
        own_before,
        dict(user.settings or {}),
        target=("user", user.id),
    )
    db.commit()
    refresh()  # the confirmation already speaks the chosen language
    session["settings_saved"] = gettext("Saved your preferences.")
    return redirect(url_for("web.settings") + "#preferences", code=303)
