"""Cases, their tasks, and the sharing rules that file a mailbox's mail to a case."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.crm import field_limits as limits
from server.crm.models.base import Base, TimestampMixin
from server.crm.models.tenancy import User
from server.crm.types import Id, utcnow


class Case(TimestampMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_tenant_status", "tenant_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(limits.TITLE))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    tasks: Mapped[list[Task]] = relationship(back_populates="case")
    sharing_rules: Mapped[list[SharingRule]] = relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True
    )


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_tenant_case", "tenant_id", "case_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(limits.TITLE))
    description: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None]
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    case: Mapped[Case | None] = relationship(back_populates="tasks")


class SharingRule(Base):
    """All new mail of one mailbox (`user_id`) from/to `address` is filed to `case`.
    Only its owner makes one (`created_by_id` is the owner), and it reads only that
    mailbox."""

    __tablename__ = "sharing_rules"
    __table_args__ = (
        UniqueConstraint("user_id", "case_id", "address"),
        Index("ix_sharing_rules_tenant_user_address", "tenant_id", "user_id", "address"),
        Index("ix_sharing_rules_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # normalised
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Only mail that arrives after this moment is filed by the rule.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="sharing_rules")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @classmethod
    def for_addresses(cls, session: Session, tenant_id: str, user_id: int, addresses: Iterable[str]):
        """The rules of one mailbox that match any of these (normalised) addresses and
        that the mailbox's owner made: a rule someone else made for it files nothing."""
        wanted = [a for a in addresses if a]
        if not wanted:
            return []
        return session.scalars(
            select(cls).where(
                cls.tenant_id == tenant_id,
                cls.user_id == user_id,
                cls.created_by_id == user_id,
                cls.address.in_(wanted),
            )
        ).all()


# Behind the CRM pages' title search and newest-first lists.
Index("ix_cases_tenant_title_lower", Case.tenant_id, func.lower(Case.title))
Index("ix_cases_tenant_id", Case.tenant_id, Case.id)
Index("ix_tasks_tenant_title_lower", Task.tenant_id, func.lower(Task.title))
Index("ix_tasks_tenant_id", Task.tenant_id, Task.id)
