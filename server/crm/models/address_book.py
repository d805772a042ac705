"""The address book: companies, contacts and their email addresses."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, event, select
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.crm import field_limits as limits
from server.crm.addresses import normalise_address
from server.crm.folding import fold_key
from server.crm.models.base import Base, TimestampMixin
from server.crm.types import Id, Json, utcnow
from server.crm.upsert import insert_ignore


def _fold_column(source: str, length: int) -> Mapped[str]:
    """A folded search key (server/crm/folding.py) of the column `source`. Kept in step
    by the "set" events below for ORM writes, and by this column default for Core
    inserts that leave it out (the importer's bulk INSERTs, insert_ignore); the empty
    server default only covers rows written by raw SQL, which must set it themselves.
    PostgreSQL compares it in code-point order ("C"), so a prefix is one index range
    whatever the database's locale."""

    def default(context) -> str:
        return fold_key(context.get_current_parameters().get(source), length)

    return mapped_column(
        String(length).with_variant(String(length, collation="C"), "postgresql"),
        default=default,
        server_default="",
    )


def company_name_key(name: str) -> str:
    """Case- and space-insensitive key: 'Contoso  LTD ' and 'contoso ltd' are one company."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


class Company(TimestampMixin, Base):
    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(limits.COMPANY_NAME))
    name_key: Mapped[str] = mapped_column(String(limits.COMPANY_NAME))
    name_fold: Mapped[str] = _fold_column("name", limits.COMPANY_NAME)
    domains: Mapped[list[str]] = mapped_column(MutableList.as_mutable(Json()), default=list)

    contacts: Mapped[list[Contact]] = relationship(back_populates="company")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        if self.name is not None:
            self.rename(self.name)

    def rename(self, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            raise ValueError("a company needs a name")
        self.name = name
        self.name_key = company_name_key(name)

    @classmethod
    def by_name(cls, session: Session, tenant_id: str, name: str) -> Company | None:
        return session.scalar(select(cls).where(cls.tenant_id == tenant_id, cls.name_key == company_name_key(name)))

    @classmethod
    def get_or_create(cls, session: Session, tenant_id: str, name: str) -> Company:
        """The tenant's company with this name (case- and space-insensitive),
        created if missing; safe when two syncs create it at once. Does not commit.
        Raises ValueError for an empty name."""
        clean = " ".join((name or "").split())
        if not clean:
            raise ValueError("a company needs a name")
        found = cls.by_name(session, tenant_id, clean)
        if found is not None:
            return found
        insert_ignore(
            session,
            cls,
            {
                "tenant_id": tenant_id,
                "name": clean,
                "name_key": company_name_key(clean),
                "name_fold": fold_key(clean, 256),
            },
            ["tenant_id", "name_key"],
        )
        company = cls.by_name(session, tenant_id, clean)
        assert company is not None
        return company


class Contact(TimestampMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_tenant_display_name", "tenant_id", "display_name"),
        Index("ix_contacts_tenant_last_name", "tenant_id", "last_name"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(limits.FIRST_NAME), default="")
    last_name: Mapped[str] = mapped_column(String(limits.LAST_NAME), default="")
    display_name: Mapped[str] = mapped_column(String(limits.DISPLAY_NAME), default="")
    first_name_fold: Mapped[str] = _fold_column("first_name", limits.FIRST_NAME)
    last_name_fold: Mapped[str] = _fold_column("last_name", limits.LAST_NAME)
    display_name_fold: Mapped[str] = _fold_column("display_name", limits.DISPLAY_NAME)
    job_title: Mapped[str] = mapped_column(String(limits.JOB_TITLE), default="")
    business_phone: Mapped[str] = mapped_column(String(limits.PHONE), default="")
    mobile_phone: Mapped[str] = mapped_column(String(limits.PHONE), default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"), index=True)
    deleted_at: Mapped[datetime | None]

    company: Mapped[Company | None] = relationship(back_populates="contacts")
    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.position"
    )

    @classmethod
    def get(cls, session: Session, tenant_id: str, id: int, include_deleted: bool = False) -> Contact | None:  # type: ignore[override]
        contact = super().get(session, tenant_id, id)
        if contact is not None and contact.deleted_at is not None and not include_deleted:
            return None
        return contact

    @property
    def name(self) -> str:
        """What to show: the display name, else first + last, else the first address."""
        if self.display_name:
            return self.display_name
        joined = " ".join(p for p in (self.first_name, self.last_name) if p)
        if joined:
            return joined
        return self.emails[0].address if self.emails else ""

    @property
    def addresses(self) -> list[str]:
        return [e.address for e in self.emails]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def add_address(self, raw: str) -> ContactEmail:
        """Adds a (normalised) address unless the contact has it; raises ValueError if malformed."""
        address = normalise_address(raw)
        if address is None:
            raise ValueError(f"not an email address: {raw!r}")
        for existing in self.emails:
            if existing.address == address:
                return existing
        entry = ContactEmail(tenant_id=self.tenant_id, address=address, position=len(self.emails))
        self.emails.append(entry)
        self.touch()
        return entry

    def set_addresses(self, raws: Iterable[str]) -> None:
        """Replaces the addresses, keeping the given order; malformed ones raise ValueError."""
        wanted: list[str] = []
        for raw in raws:
            address = normalise_address(raw)
            if address is None:
                raise ValueError(f"not an email address: {raw!r}")
            if address not in wanted:
                wanted.append(address)
        if wanted == self.addresses:
            return
        by_address = {e.address: e for e in self.emails}
        self.touch()
        self.emails = [by_address.get(a) or ContactEmail(tenant_id=self.tenant_id, address=a) for a in wanted]
        for position, entry in enumerate(self.emails):
            entry.position = position

    def touch(self) -> None:
        """Marks the contact changed now; address changes count as changes of the
        contact for two-way sync (last modification wins)."""
        self.updated_at = utcnow()

    def soft_delete(self) -> None:
        self.deleted_at = utcnow()

    def restore(self) -> None:
        self.deleted_at = None


class ContactEmail(Base):
    """One address of a contact, normalised. Not unique per tenant: two contacts may share one."""

    __tablename__ = "contact_emails"
    __table_args__ = (
        UniqueConstraint("contact_id", "address"),
        Index("ix_contact_emails_tenant_address", "tenant_id", "address"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    position: Mapped[int] = mapped_column(default=0)

    contact: Mapped[Contact] = relationship(back_populates="emails")


# Behind the prefix search of the CRM pages, the pane and the REST API (range scans
# of folded keys), and the REST API's list of contacts (sorted by folded name).
Index("ix_contacts_tenant_first_name_fold", Contact.tenant_id, Contact.first_name_fold)
Index("ix_contacts_tenant_last_name_fold", Contact.tenant_id, Contact.last_name_fold)
Index("ix_contacts_tenant_display_name_fold", Contact.tenant_id, Contact.display_name_fold)
Index("ix_companies_tenant_name_fold", Company.tenant_id, Company.name_fold)

# Each name's folded key follows the name on every ORM write (constructor included).
_FOLDED = (
    (Contact, "first_name", 256),
    (Contact, "last_name", 256),
    (Contact, "display_name", 512),
    (Company, "name", 256),
)


def _keep_folded(model, source: str, length: int) -> None:
    @event.listens_for(getattr(model, source), "set")
    def _set(target, value, _old, _initiator) -> None:
        setattr(target, f"{source}_fold", fold_key(value, length))


for _model, _source, _length in _FOLDED:
    _keep_folded(_model, _source, _length)
