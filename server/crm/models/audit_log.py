"""The audit log: who did what, when, from where, with the record before and after.

Rows are only ever added (`server.crm.audit.record`); nothing in the app changes or
removes one (the ORM refuses it, see audit.py, and so does the database for an
UPDATE). `actor_user_id` is deliberately no foreign key: an entry outlives its
actor's user row, and keeps their name and UPN as they were then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.crm.models.base import Base
from server.crm.types import Id, Json, utcnow


class AuditEntry(Base):
    """One recorded action of a tenant (ACTIONS in server/crm/audit.py)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_tenant", "tenant_id", "id"),
        Index("ix_audit_entries_tenant_action", "tenant_id", "action", "id"),
        Index("ix_audit_entries_tenant_actor", "tenant_id", "actor_user_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The CRM user who acted (None: the command line or the system), with their
    # display name and UPN as they were at the time.
    actor_user_id: Mapped[int | None] = mapped_column(Id)
    actor_name: Mapped[str] = mapped_column(String(256), default="")
    actor_upn: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[Any] = mapped_column(Json(), nullable=True)
    after: Mapped[Any] = mapped_column(Json(), nullable=True)
    # The caller's address as the web server saw it (behind a proxy, see ratelimit.py
    # on ProxyFix); None for the command line and background jobs.
    client_address: Mapped[str | None] = mapped_column(String(64))
