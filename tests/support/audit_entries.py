"""Reading the audit log in tests: a tenant's entries of one action, oldest first, as
the database holds them."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import AuditEntry


def entries_of(crm, tenant_id: str, action: str | None = None) -> list[AuditEntry]:
    """The tenant's audit entries (of `action`, when given), oldest first."""
    crm.expire_all()
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(crm.scalars(query.order_by(AuditEntry.id)))


def only_entry(crm, tenant_id: str, action: str) -> AuditEntry:
    """The one entry of `action` in the tenant; fails when there are none or several."""
    found = entries_of(crm, tenant_id, action)
    assert len(found) == 1, [(e.action, e.before, e.after) for e in found]
    return found[0]
