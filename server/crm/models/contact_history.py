"""The history of a contact: every field a sync, an import, the API or a page changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from server.crm.models.base import Base, sql_in_list
from server.crm.types import Id, utcnow

# Who changed a contact: Outlook contact sync and the add-in, the contact import, the
# REST API, the CRM pages.
CHANGE_SOURCES = ("outlook", "import", "api", "page")


class ContactChange(Base):
    """One field of a contact changed from `old_value` to `new_value` (None: the field
    was empty; the field "contact" records that the contact was created)."""

    __tablename__ = "contact_changes"
    __table_args__ = (
        CheckConstraint(f"source IN {sql_in_list(CHANGE_SOURCES)}", name="source"),
        Index("ix_contact_changes_tenant_contact", "tenant_id", "contact_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    # The CRM user who made the change, when there is one (not for an app-only
    # integration or the command line); `actor` keeps their name as it was then.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def of_contact(cls, session: Session, tenant_id: str, contact_id: int, limit: int = 200) -> list[ContactChange]:
        """The contact's changes, newest first."""
        return list(
            session.scalars(
                select(cls)
                .where(cls.tenant_id == tenant_id, cls.contact_id == contact_id)
                .order_by(cls.id.desc())
                .limit(limit)
            )
        )
