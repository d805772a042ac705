"""The audit log page (/crm/admin/audit): the tenant's recorded actions, newest first,
a page at a time (keyset), filtered by action and by who acted, each with who, what,
when (in the viewer's time zone) and what changed, before -> after; and the same
entries as a CSV download (/crm/admin/audit.csv), which is itself recorded.

Admin only; only the admin's own tenant's entries are ever read. The page only
reads: no route changes or removes an entry (server/crm/audit.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response, g, render_template, request, stream_with_context
from flask_babel import gettext, lazy_gettext

from server.crm import audit
from server.crm.cases import users_by_id
from server.crm.import_rows import defuse_formula
from server.crm.models import AuditEntry, User
from server.db import db_session
from server.web.admin_access import require_admin
from server.web.blueprint import bp

ACTION_LABELS = {
    audit.SETTINGS_TENANT_CHANGED: lazy_gettext("Organization's defaults changed"),
    audit.SETTINGS_USER_OVERRIDE_CHANGED: lazy_gettext("A user's settings changed by an admin"),
    audit.SETTINGS_OWN_CHANGED: lazy_gettext("Own settings changed"),
    audit.IMPORT_STARTED: lazy_gettext("Contact import started"),
    audit.IMPORT_APPLIED: lazy_gettext("Contact import applied"),
    audit.EXPORT_DOWNLOADED: lazy_gettext("Export downloaded"),
    audit.EXPORT_WRITTEN: lazy_gettext("Contacts exported"),
    audit.CONVERSATION_LINK_CREATED: lazy_gettext("Conversation linked"),
    audit.CONVERSATION_LINK_DELETED: lazy_gettext("Conversation link removed"),
    audit.SHARING_RULE_CREATED: lazy_gettext("Sharing rule added"),
    audit.SHARING_RULE_DELETED: lazy_gettext("Sharing rule removed"),
    audit.SESSION_ENDED: lazy_gettext("Session ended"),
    audit.BULK_SYNC_STARTED: lazy_gettext("Bulk sync started"),
    audit.JOB_RETRIED: lazy_gettext("Job retried"),
    audit.CONNECTION_TESTED: lazy_gettext("Connection tested"),
}
TARGET_LABELS = {
    "tenant": lazy_gettext("Organization"),
    "user": lazy_gettext("User"),
    "job": lazy_gettext("Job"),
    "conversation_link": lazy_gettext("Conversation link"),
    "sharing_rule": lazy_gettext("Sharing rule"),
    "audit_log": lazy_gettext("Audit log"),
}
CSV_COLUMNS = (
    "at_utc",
    "actor_user_id",
    "actor_name",
    "actor_upn",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "client_address",
)


@dataclass
class Change:
    """One recorded value; `diff`: a change, shown before -> after (an empty side as
    "(empty)"), else a record made or removed, shown as it is."""

    key: str
    before: str | None
    after: str | None
    diff: bool = False


@dataclass
class EntryView:
    entry: AuditEntry
    action: str
    who: str
    who_upn: str
    target: str
    changes: list[Change]


def shown(value: Any) -> str | None:
    """A recorded value as text: strings as they are, lists joined, the rest as JSON;
    None for no value (None, "" or an empty list)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes_of(entry: AuditEntry) -> list[Change]:
    before, after = entry.before, entry.after
    diff = before is not None and after is not None
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
        return [Change(k, shown(before.get(k)), shown(after.get(k)), diff) for k in dict.fromkeys([*before, *after])]
    if before is None and after is None:
        return []
    return [Change("", shown(before), shown(after), diff)]


def actor_text(entry: AuditEntry) -> str:
    if entry.actor_user_id is None:
        return gettext("Command line") if entry.actor_name == audit.COMMAND_LINE.name else gettext("System")
    return entry.actor_name or entry.actor_upn


def target_text(entry: AuditEntry, users: dict[int, User]) -> str:
    if not entry.target_type:
        return ""
    label = str(TARGET_LABELS.get(entry.target_type, entry.target_type))
    if entry.target_type == "user" and entry.target_id and entry.target_id.isdigit():
        user = users.get(int(entry.target_id))
        if user is not None:
            return f"{label}: {user.display_name or user.upn}"
    if entry.target_type == "tenant":
        return label
    return f"{label} {entry.target_id}" if entry.target_id else label


def filters() -> tuple[str | None, str | None]:
    """The page's filters: an action of ACTIONS, an actor's user id or SYSTEM."""
    action = request.args.get("action") or None
    actor = request.args.get("actor") or None
    if action not in audit.ACTIONS:
        action = None
    if actor is not None and actor != audit.SYSTEM and not (actor.isdigit() and len(actor) <= 18):
        actor = None
    return action, actor


@bp.get("/crm/admin/audit")
def admin_audit():
    """The tenant's audit log, newest first, filtered by action and by who acted."""
    require_admin()
    tenant_id = g.crm_user.tenant_id
    db = db_session()
    action, actor = filters()
    page = audit.entries(db, tenant_id, action=action, actor=actor, after=request.args.get("after"))
    targets = [int(e.target_id) for e in page.rows if e.target_type == "user" and (e.target_id or "").isdigit()]
    users = users_by_id(db, tenant_id, targets)
    views = [
        EntryView(
            entry=e,
            action=str(ACTION_LABELS.get(e.action, e.action)),
            who=actor_text(e),
            who_upn=e.actor_upn if e.actor_upn != e.actor_name else "",
            target=target_text(e, users),
            changes=changes_of(e),
        )
        for e in page.rows
    ]
    return render_template(
        "crm/admin_audit.html",
        entries=views,
        page=page,
        action=action or "",
        actor=actor or "",
        actions=[(a, ACTION_LABELS[a]) for a in audit.ACTIONS],
        actors=audit.actors(db, tenant_id),
        system=audit.SYSTEM,
        filtered=bool(action or actor),
    )


@bp.get("/crm/admin/audit.csv")
def admin_audit_csv():
    """The filtered audit log as CSV (times in UTC); the download is recorded."""
    require_admin()
    user: User = g.crm_user
    db = db_session()
    action, actor = filters()
    audit.record(
        db,
        user.tenant_id,
        user,
        audit.EXPORT_DOWNLOADED,
        target=("audit_log", None),
        after={"format": "csv", "action": action, "actor": actor},
    )
    db.commit()
    rows = audit.all_entries(db, user.tenant_id, action=action, actor=actor)
    response = Response(stream_with_context(csv_lines(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


def csv_lines(entries: Iterator[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells) -> str:
        writer.writerow([defuse_formula(c) for c in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(CSV_COLUMNS)
    for e in entries:
        yield line(
            [
                e.at.isoformat(),
                "" if e.actor_user_id is None else str(e.actor_user_id),
                e.actor_name,
                e.actor_upn,
                e.action,
                e.target_type or "",
                e.target_id or "",
                "" if e.before is None else json.dumps(e.before, ensure_ascii=False, sort_keys=True),
                "" if e.after is None else json.dumps(e.after, ensure_ascii=False, sort_keys=True),
                e.client_address or "",
            ]
        )
