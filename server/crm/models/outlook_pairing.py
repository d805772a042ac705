"""Pairs of a user's Outlook contact and a CRM contact, and who creates an Outlook contact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, delete, select, update
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.crm.models.address_book import Contact
from server.crm.models.base import Base
from server.crm.types import Id, Json, utcnow
from server.crm.upsert import insert_ignore


class OutlookContactLink(Base):
    """Pairs a user's Outlook contact with a CRM contact, for two-way sync."""

    __tablename__ = "outlook_contact_links"
    __table_args__ = (UniqueConstraint("user_id", "outlook_contact_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    outlook_contact_id: Mapped[str] = mapped_column(String(512))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    last_synced_at: Mapped[datetime | None]
    # The field values both sides agreed on at the last sync (for field-by-field merges).
    snapshot: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)

    contact: Mapped[Contact] = relationship()

    @classmethod
    def by_outlook_id(cls, session: Session, tenant_id: str, user_id: int, outlook_contact_id: str):
        return session.scalar(
            select(cls).where(
                cls.tenant_id == tenant_id, cls.user_id == user_id, cls.outlook_contact_id == outlook_contact_id
            )
        )


class OutlookContactReservation(Base):
    """Who creates a user's Outlook contact for one address. Graph has no unique key,
    so two simultaneous "Create Outlook contact" calls that both find no contact would
    create two: the request that inserts this row (or takes over one whose creator
    died) creates the contact and stores its id here; the others wait for that id
    (server.sync.outlook_contact_sync). The row stays after success, so a later call
    that misses the contact in Graph still finds its id."""

    __tablename__ = "outlook_contact_reservations"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "address"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # normalised
    holder: Mapped[str] = mapped_column(String(32))  # random token of the creating request
    outlook_contact_id: Mapped[str | None] = mapped_column(String(512))  # set once created
    reserved_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def find(cls, session: Session, tenant_id: str, user_id: int, address: str) -> OutlookContactReservation | None:
        return session.scalar(
            select(cls)
            .where(cls.tenant_id == tenant_id, cls.user_id == user_id, cls.address == address)
            .execution_options(populate_existing=True)
        )

    @classmethod
    def reserve(cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str) -> bool:
        """Inserts the row for `holder`; False when it exists (another request holds it)."""
        return insert_ignore(
            session,
            cls,
            {
                "tenant_id": tenant_id,
                "user_id": user_id,
                "address": address,
                "holder": holder,
                "outlook_contact_id": None,
            },
            ["tenant_id", "user_id", "address"],
        )

    @classmethod
    def take_over(
        cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str, reserved_before: datetime
    ) -> bool:
        """Hands a row still without a contact, reserved before `reserved_before` (its
        creator died), to `holder`. One UPDATE, so of several takers only one wins."""
        return bool(
            session.execute(
                update(cls)
                .where(
                    cls.tenant_id == tenant_id,
                    cls.user_id == user_id,
                    cls.address == address,
                    cls.outlook_contact_id.is_(None),
                    cls.reserved_at < reserved_before,
                )
                .values(holder=holder, reserved_at=utcnow())
            ).rowcount
        )

    @classmethod
    def fill(
        cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str, outlook_contact_id: str
    ) -> bool:
        """Stores the created contact's id, if `holder` still holds the row."""
        return bool(
            session.execute(
                update(cls)
                .where(
                    cls.tenant_id == tenant_id,
                    cls.user_id == user_id,
                    cls.address == address,
                    cls.holder == holder,
                    cls.outlook_contact_id.is_(None),
                )
                .values(outlook_contact_id=outlook_contact_id)
            ).rowcount
        )

    @classmethod
    def release(cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str) -> None:
        """Drops `holder`'s row that has no contact yet (its creation failed)."""
        session.execute(
            delete(cls).where(
                cls.tenant_id == tenant_id,
                cls.user_id == user_id,
                cls.address == address,
                cls.holder == holder,
                cls.outlook_contact_id.is_(None),
            )
        )

    @classmethod
    def forget(cls, session: Session, tenant_id: str, user_id: int, address: str, outlook_contact_id: str) -> None:
        """Drops the row of a contact that is gone from Outlook (or no longer has the address)."""
        session.execute(
            delete(cls).where(
                cls.tenant_id == tenant_id,
                cls.user_id == user_id,
                cls.address == address,
                cls.outlook_contact_id == outlook_contact_id,
            )
        )
