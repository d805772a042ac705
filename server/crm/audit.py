"""The audit log: every change of settings, every admin-only action, imports and
exports, conversation links and sharing rules, and ended sessions, recorded as one
`AuditEntry` (who, what, when, from where, the record before and after) in the
caller's transaction, so the entry and the change it records commit together or not
at all.

Everything records through `record(session, tenant_id, actor, action, target=...,
before=..., after=...)`; `action` is one of ACTIONS. The caller's address comes from
`client_address`, which the web process sets for each request
(server/audit_requests.py); the command line and background jobs have none.

Nothing secret is kept: a value under a key that names a secret (token, secret,
password, ...) and any string that looks like a bearer token is replaced by MASK.

Entries are never changed or removed by the app: the ORM refuses to flush a changed
or deleted AuditEntry and any UPDATE or DELETE statement on the table run through a
Session (`AuditLogIsAppendOnly`), and the database refuses an UPDATE (a trigger, see
the migration). No route writes an entry other than through `record`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from server.crm.keyset import InvalidCursor, Page, decode_cursor, page_of
from server.crm.models import AuditEntry, User, is_id

# -- what is recorded ---------------------------------------------------------------------

SETTINGS_TENANT_CHANGED = "settings.tenant_changed"  # the tenant's defaults (admin)
SETTINGS_USER_OVERRIDE_CHANGED = "settings.user_override_changed"  # an admin's override for a user
SETTINGS_OWN_CHANGED = "settings.own_changed"  # a user's own settings (pane API, settings page)
IMPORT_STARTED = "import.started"  # an admin uploaded a contact file; its job is queued
IMPORT_APPLIED = "import.applied"  # an import finished (the job or `flask crm import`)
EXPORT_DOWNLOADED = "export.downloaded"  # a CSV downloaded from the pages (the audit log's)
EXPORT_WRITTEN = "export.written"  # contacts exported with `flask crm export`
CONVERSATION_LINK_CREATED = "conversation_link.created"
CONVERSATION_LINK_DELETED = "conversation_link.deleted"
SHARING_RULE_CREATED = "sharing_rule.created"
SHARING_RULE_DELETED = "sharing_rule.deleted"
SESSION_ENDED = "session.ended"  # a page session ended: sign-out, or ended by an admin
BULK_SYNC_STARTED = "bulk_sync.started"  # a bulk sync of a folder asked for (admin page or pane)
JOB_RETRIED = "job.retried"  # a failed job queued again from the admin's jobs page
CONNECTION_TESTED = "connection.tested"  # Test connection run by an admin, with each check's outcome

ACTIONS = (
    SETTINGS_TENANT_CHANGED,
    SETTINGS_USER_OVERRIDE_CHANGED,
    SETTINGS_OWN_CHANGED,
    IMPORT_STARTED,
    IMPORT_APPLIED,
    EXPORT_DOWNLOADED,
    EXPORT_WRITTEN,
    CONVERSATION_LINK_CREATED,
    CONVERSATION_LINK_DELETED,
    SHARING_RULE_CREATED,
    SHARING_RULE_DELETED,
    SESSION_ENDED,
    BULK_SYNC_STARTED,
    JOB_RETRIED,
    CONNECTION_TESTED,
)

# The caller's address for this request; set by the web process around each request.
client_address: ContextVar[str | None] = ContextVar("audit_client_address", default=None)

MASK = "********"
# Keys whose values are secrets wherever they appear in a before or after.
SECRET_KEY = re.compile(
    r"secret|token|password|passwd|credential|api_?key|private_?key|client_?state|cookie|authori[sz]ation",
    re.IGNORECASE,
)
# A string that looks like a bearer token (a JWT) whatever its key.
TOKEN_LIKE = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.")

PAGE_SIZE = 50
ACTORS_SHOWN = 500
SYSTEM = "system"  # the actor filter's value for entries without a user (command line, jobs)


@dataclass(frozen=True)
class Actor:
    """Who acted: a CRM user (id, display name, UPN as they are now, so as they were
    then once recorded), or no user at all (the command line)."""

    user_id: int | None
    name: str
    upn: str = ""

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.display_name or "", user.upn or "")


COMMAND_LINE = Actor(None, "command line")


class AuditLogIsAppendOnly(RuntimeError):
    """Something tried to change or remove an audit entry."""


# -- writing ----------------------------------------------------------------------------


def masked(value: Any) -> Any:
    """`value` with every secret replaced by MASK (dicts and lists walked)."""
    if isinstance(value, Mapping):
        return {str(k): MASK if SECRET_KEY.search(str(k)) and v is not None else masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    if isinstance(value, str) and TOKEN_LIKE.search(value):
        return MASK
    return value


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ: (their values before, their values after);
    a key absent on one side is None there."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(
    session: Session,
    tenant_id: str,
    actor: User | Actor | None,
    action: str,
    *,
    target: tuple[str, Any] | None = None,
    before: Any = None,
    after: Any = None,
    address: str | None = None,
) -> AuditEntry:
    """Adds one entry to `session` (the caller commits it with the change it records).
    `actor` None is the system; `target` is (type, id); `address` defaults to this
    request's client address. Raises ValueError for an action not in ACTIONS."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    who = Actor.of(actor) if isinstance(actor, User) else actor or Actor(None, "")
    entry = AuditEntry(
        tenant_id=tenant_id,
        actor_user_id=who.user_id,
        actor_name=who.name[:256],
        actor_upn=who.upn[:320],
        action=action,
        target_type=target[0][:32] if target else None,
        target_id=str(target[1])[:64] if target and target[1] is not None else None,
        before=masked(before),
        after=masked(after),
        client_address=(address or client_address.get() or None),
    )
    session.add(entry)
    return entry


def record_change(
    session: Session,
    tenant_id: str,
    actor: User | Actor | None,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    target: tuple[str, Any] | None = None,
) -> AuditEntry | None:
    """Records the keys of a settings-like dict that changed, each before and after;
    nothing when none did."""
    old, new = changes(before, after)
    if not old:
        return None
    return record(session, tenant_id, actor, action, target=target, before=old, after=new)


# -- reading ----------------------------------------------------------------------------


def _filtered(tenant_id: str, action: str | None, actor: str | None):
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor == SYSTEM:
        query = query.where(AuditEntry.actor_user_id.is_(None))
    elif actor and actor.isdigit():
        query = query.where(AuditEntry.actor_user_id == int(actor))
    return query


def entries(
    session: Session,
    tenant_id: str,
    *,
    action: str | None = None,
    actor: str | None = None,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of the tenant's entries, newest first, optionally of one action and
    one actor (a user id, or SYSTEM). Raises InvalidCursor for a bad `after`."""
    query = _filtered(tenant_id, action, actor)
    cursor = decode_cursor(after, (int,))
    if cursor is not None:
        if not is_id(cursor[0]):
            raise InvalidCursor()
        query = query.where(AuditEntry.id < cursor[0])
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(size + 1)))
    return page_of(rows, lambda row: (row.id,), size)


def all_entries(session: Session, tenant_id: str, *, action: str | None = None, actor: str | None = None):
    """Every matching entry, newest first, read in chunks (the CSV download)."""
    query = _filtered(tenant_id, action, actor).order_by(AuditEntry.id.desc())
    yield from session.scalars(query.execution_options(yield_per=500))


def actors(session: Session, tenant_id: str) -> list[tuple[int, str]]:
    """(user id, name as last recorded) of everyone in the tenant's log, by name."""
    latest = (
        select(func.max(AuditEntry.id))
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.actor_user_id.is_not(None))
        .group_by(AuditEntry.actor_user_id)
        .limit(ACTORS_SHOWN)
    )
    rows = session.execute(
        select(AuditEntry.actor_user_id, AuditEntry.actor_name, AuditEntry.actor_upn).where(AuditEntry.id.in_(latest))
    ).all()
    return sorted(((r[0], r[1] or r[2]) for r in rows), key=lambda pair: (pair[1].lower(), pair[0]))


# -- append only --------------------------------------------------------------------------


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper, connection, target):
    raise AuditLogIsAppendOnly("an audit entry is never changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise AuditLogIsAppendOnly("an audit entry is never removed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state):
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == AuditEntry.__tablename__:
        raise AuditLogIsAppendOnly("audit entries are never changed or removed")
