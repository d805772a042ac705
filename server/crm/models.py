"""The CRM's tables (DESIGN §5). SQLAlchemy 2.0 typed models; no Flask here.

Every table carries `tenant_id` (the Entra `tid`) and every lookup helper takes
it, so no query crosses tenants. Ids are integers, except Tenant's (the tid).
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any, Iterable, Optional, Sequence, TypeVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from server.crm.addresses import normalise_address
from server.crm.types import Id, Json, UTCDateTime, utcnow
from server.crm.upsert import insert_ignore

# Named constraints: Alembic can then alter them on PostgreSQL and in SQLite batch mode.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MAILBOX_STATES = ("none", "pending", "synced", "excluded")
TARGET_TYPES = ("contact", "company", "case", "task")
LINK_SOURCES = ("address", "company", "manual", "rule", "conversation")
AUTO_SYNC_MODES = ("off", "marked", "known_contacts")

# What a tenant gets before anyone changes a setting. `auto_link_companies`'s
# deployment-wide default comes from the AUTO_LINK_COMPANIES setting via
# get_or_create_tenant; this is the fallback for tenants created without it.
DEFAULT_SETTINGS: dict[str, Any] = {
    "auto_link_companies": True,
    "auto_sync": "off",
    "never_sync": [],
}

ModelT = TypeVar("ModelT", bound="Base")


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


MAX_ID = 2**63 - 1


def is_id(value: Any) -> bool:
    """True for an int that fits an id column (BIGINT; SQLite's INTEGER)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json()}

    @classmethod
    def get(cls: type[ModelT], session: Session, tenant_id: str, id: int) -> ModelT | None:
        """The row with this id in this tenant, or None (also for another tenant's row, and
        for an id no row can have: the databases refuse integers beyond 64 bits)."""
        if not is_id(id):
            return None
        obj = session.get(cls, id)
        if obj is None or getattr(obj, "tenant_id", None) != tenant_id:
            return None
        return obj


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Tenant(Base):
    """An Entra ID tenant (organisation); `id` is its `tid`."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def get(cls, session: Session, tenant_id: str, id: str | None = None) -> "Tenant | None":  # type: ignore[override]
        return session.get(cls, tenant_id)

    def effective_settings(self) -> dict[str, Any]:
        """DEFAULT_SETTINGS overlaid with this tenant's values."""
        merged = dict(DEFAULT_SETTINGS)
        merged.update({k: v for k, v in (self.settings or {}).items() if v is not None})
        merged["never_sync"] = list(merged.get("never_sync") or [])
        return merged

    def update_settings(self, **changes: Any) -> None:
        """Sets tenant defaults; a value of None removes the key (back to the default)."""
        validate_settings(changes)
        current = dict(self.settings or {})
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        self.settings = current


class User(Base):
    """A mailbox user of a tenant, known by the `oid` of their tokens."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "oid"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    oid: Mapped[str] = mapped_column(String(64))
    upn: Mapped[str] = mapped_column(String(320), default="")
    display_name: Mapped[str] = mapped_column(String(256), default="")
    # The user's own addresses (primary SMTP and aliases), lower-case; never matched as contacts.
    addresses: Mapped[list[str]] = mapped_column(MutableList.as_mutable(Json()), default=list)
    # When `addresses` was last read from the user's Graph profile (aliases change rarely).
    addresses_checked_at: Mapped[Optional[datetime]]
    # Overrides of the tenant's settings; absent key = use the tenant's value.
    settings: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tenant: Mapped[Tenant] = relationship()

    @classmethod
    def by_oid(cls, session: Session, tenant_id: str, oid: str) -> "User | None":
        return session.scalar(select(cls).where(cls.tenant_id == tenant_id, cls.oid == oid))

    def effective_settings(self, tenant: Tenant | None = None) -> dict[str, Any]:
        """The tenant's settings with this user's overrides; the user's value wins.
        `never_sync` is the union of the tenant's and the user's lists."""
        tenant = tenant or self.tenant
        merged = tenant.effective_settings()
        tenant_never = merged["never_sync"]
        merged.update({k: v for k, v in (self.settings or {}).items() if v is not None})
        personal = list((self.settings or {}).get("never_sync") or [])
        merged["never_sync"] = list(dict.fromkeys([*tenant_never, *personal]))
        return merged

    def update_settings(self, **changes: Any) -> None:
        """Sets overrides; a value of None removes the override (back to the tenant's)."""
        validate_settings(changes)
        current = dict(self.settings or {})
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        self.settings = current

    def own_addresses(self) -> set[str]:
        """Normalised addresses that are this user's: never filed as contacts."""
        found = {normalise_address(a) for a in [*(self.addresses or []), self.upn]}
        return {a for a in found if a}

    def remember_addresses(self, addresses: Iterable[str]) -> None:
        known = list(self.addresses or [])
        for raw in addresses:
            address = normalise_address(raw)
            if address and address not in known:
                known.append(address)
        if known != list(self.addresses or []):
            self.addresses = known


def validate_settings(changes: dict[str, Any]) -> None:
    """Raises ValueError for an unknown key or a value of the wrong kind."""
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS:
            raise ValueError(f"unknown setting {key!r}")
        if value is None:
            continue
        if key == "auto_link_companies" and not isinstance(value, bool):
            raise ValueError("auto_link_companies must be true or false")
        if key == "auto_sync" and value not in AUTO_SYNC_MODES:
            raise ValueError(f"auto_sync must be one of {', '.join(AUTO_SYNC_MODES)}")
        if key == "never_sync" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ValueError("never_sync must be a list of addresses and domains")


def company_name_key(name: str) -> str:
    """Case- and space-insensitive key: 'Contoso  LTD ' and 'contoso ltd' are one company."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


class Company(TimestampMixin, Base):
    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    name_key: Mapped[str] = mapped_column(String(256))
    domains: Mapped[list[str]] = mapped_column(MutableList.as_mutable(Json()), default=list)

    contacts: Mapped[list["Contact"]] = relationship(back_populates="company")

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
    def by_name(cls, session: Session, tenant_id: str, name: str) -> "Company | None":
        return session.scalar(
            select(cls).where(cls.tenant_id == tenant_id, cls.name_key == company_name_key(name))
        )

    @classmethod
    def get_or_create(cls, session: Session, tenant_id: str, name: str) -> "Company":
        """The tenant's company with this name (case- and space-insensitive),
        created if missing; safe when two syncs create it at once. Does not commit.
        Raises ValueError for an empty name."""
        from server.crm.upsert import insert_ignore  # upsert imports nothing of ours; avoids a cycle

        clean = " ".join((name or "").split())
        if not clean:
            raise ValueError("a company needs a name")
        found = cls.by_name(session, tenant_id, clean)
        if found is not None:
            return found
        insert_ignore(
            session, cls, {"tenant_id": tenant_id, "name": clean, "name_key": company_name_key(clean)},
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
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str] = mapped_column(String(256), default="")
    display_name: Mapped[str] = mapped_column(String(512), default="")
    job_title: Mapped[str] = mapped_column(String(256), default="")
    business_phone: Mapped[str] = mapped_column(String(64), default="")
    mobile_phone: Mapped[str] = mapped_column(String(64), default="")
    company_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    deleted_at: Mapped[Optional[datetime]]

    company: Mapped[Optional[Company]] = relationship(back_populates="contacts")
    emails: Mapped[list["ContactEmail"]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.position"
    )

    @classmethod
    def get(cls, session: Session, tenant_id: str, id: int, include_deleted: bool = False) -> "Contact | None":  # type: ignore[override]
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

    def add_address(self, raw: str) -> "ContactEmail":
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
        self.emails = [
            by_address.get(a) or ContactEmail(tenant_id=self.tenant_id, address=a) for a in wanted
        ]
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


class Email(Base):
    """A filed message: one per tenant per internetMessageId, whoever filed it."""

    __tablename__ = "emails"
    __table_args__ = (
        UniqueConstraint("tenant_id", "internet_message_id"),
        Index("ix_emails_tenant_conversation", "tenant_id", "conversation_id"),
        Index("ix_emails_tenant_sent_at", "tenant_id", "sent_at", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    internet_message_id: Mapped[str] = mapped_column(String(998))
    conversation_id: Mapped[Optional[str]] = mapped_column(String(512))
    subject: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[Optional[str]] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(512), default="")
    # Lists of {"address", "name"}; addresses normalised where valid.
    to: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    cc: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    bcc: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    sent_at: Mapped[Optional[datetime]]
    received_at: Mapped[Optional[datetime]]
    preview: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised (crm.sanitise)
    has_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"name", "content_type", "size"}]; contents stay in the mailbox.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    links: Mapped[list["EmailLink"]] = relationship(
        back_populates="email", cascade="all, delete-orphan", passive_deletes=True
    )
    notes: Mapped[list["Note"]] = relationship(
        back_populates="email", cascade="all, delete-orphan", passive_deletes=True, order_by="Note.id"
    )

    @classmethod
    def by_internet_message_id(cls, session: Session, tenant_id: str, internet_message_id: str) -> "Email | None":
        return session.scalar(
            select(cls).where(cls.tenant_id == tenant_id, cls.internet_message_id == internet_message_id)
        )

    def people(self) -> list[dict[str, Any]]:
        """Every participant as {"address", "name", "role"}: from, to, cc, bcc, in that order."""
        people: list[dict[str, Any]] = []
        if self.from_address:
            people.append({"address": self.from_address, "name": self.from_name, "role": "from"})
        for role in ("to", "cc", "bcc"):
            for entry in getattr(self, role) or []:
                people.append({"address": entry.get("address"), "name": entry.get("name", ""), "role": role})
        return people

    def addresses(self) -> list[str]:
        """Distinct valid addresses of all participants, in order of appearance."""
        return list(dict.fromkeys(p["address"] for p in self.people() if p["address"]))

    def linked_ids(self, target_type: str) -> list[int]:
        return [link.target_id for link in self.links if link.target_type == target_type]


class MailboxItem(Base):
    """A message in one user's mailbox (immutable Graph id) and its sync state there."""

    __tablename__ = "mailbox_items"
    __table_args__ = (
        UniqueConstraint("user_id", "graph_id"),
        Index("ix_mailbox_items_tenant_email", "tenant_id", "email_id"),
        Index("ix_mailbox_items_user_state", "user_id", "state"),
        CheckConstraint(f"state IN {_in(MAILBOX_STATES)}", name="state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    graph_id: Mapped[str] = mapped_column(String(512))
    email_id: Mapped[Optional[int]] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="none")
    folder: Mapped[Optional[str]] = mapped_column(String(512))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    email: Mapped[Optional[Email]] = relationship()

    @classmethod
    def by_graph_id(cls, session: Session, tenant_id: str, user_id: int, graph_id: str) -> "MailboxItem | None":
        return session.scalar(
            select(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id, cls.graph_id == graph_id)
        )


class EmailLink(Base):
    """Files an email on a contact, company, case or task; `source` says why."""

    __tablename__ = "email_links"
    __table_args__ = (
        UniqueConstraint("email_id", "target_type", "target_id"),
        Index("ix_email_links_tenant_target", "tenant_id", "target_type", "target_id", "email_id"),
        CheckConstraint(f"target_type IN {_in(TARGET_TYPES)}", name="target_type"),
        CheckConstraint(f"source IN {_in(LINK_SOURCES)}", name="source"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    email: Mapped[Email] = relationship(back_populates="links")

    @classmethod
    def emails_of(cls, session: Session, tenant_id: str, target_type: str, target_id: int):
        """Select of the emails linked to a target, newest first (add .limit / keyset filters)."""
        return (
            select(Email)
            .join(cls, cls.email_id == Email.id)
            .where(cls.tenant_id == tenant_id, cls.target_type == target_type, cls.target_id == target_id)
            .order_by(Email.sent_at.desc(), Email.id.desc())
        )


class OutlookContactLink(Base):
    """Pairs a user's Outlook contact with a CRM contact, for two-way sync."""

    __tablename__ = "outlook_contact_links"
    __table_args__ = (UniqueConstraint("user_id", "outlook_contact_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    outlook_contact_id: Mapped[str] = mapped_column(String(512))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    last_synced_at: Mapped[Optional[datetime]]
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
    (server.sync.contacts). The row stays after success, so a later call that misses
    the contact in Graph still finds its id."""

    __tablename__ = "outlook_contact_reservations"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "address"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # normalised
    holder: Mapped[str] = mapped_column(String(32))  # random token of the creating request
    outlook_contact_id: Mapped[Optional[str]] = mapped_column(String(512))  # set once created
    reserved_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def find(cls, session: Session, tenant_id: str, user_id: int,
             address: str) -> "OutlookContactReservation | None":
        return session.scalar(
            select(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id, cls.address == address)
            .execution_options(populate_existing=True))

    @classmethod
    def reserve(cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str) -> bool:
        """Inserts the row for `holder`; False when it exists (another request holds it)."""
        return insert_ignore(session, cls, {"tenant_id": tenant_id, "user_id": user_id, "address": address,
                                            "holder": holder, "outlook_contact_id": None},
                             ["tenant_id", "user_id", "address"])

    @classmethod
    def take_over(cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str,
                  reserved_before: datetime) -> bool:
        """Hands a row still without a contact, reserved before `reserved_before` (its
        creator died), to `holder`. One UPDATE, so of several takers only one wins."""
        return bool(session.execute(
            update(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id, cls.address == address,
                              cls.outlook_contact_id.is_(None), cls.reserved_at < reserved_before)
            .values(holder=holder, reserved_at=utcnow())).rowcount)

    @classmethod
    def fill(cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str,
             outlook_contact_id: str) -> bool:
        """Stores the created contact's id, if `holder` still holds the row."""
        return bool(session.execute(
            update(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id, cls.address == address,
                              cls.holder == holder, cls.outlook_contact_id.is_(None))
            .values(outlook_contact_id=outlook_contact_id)).rowcount)

    @classmethod
    def release(cls, session: Session, tenant_id: str, user_id: int, address: str, holder: str) -> None:
        """Drops `holder`'s row that has no contact yet (its creation failed)."""
        session.execute(delete(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id,
                                          cls.address == address, cls.holder == holder,
                                          cls.outlook_contact_id.is_(None)))

    @classmethod
    def forget(cls, session: Session, tenant_id: str, user_id: int, address: str,
               outlook_contact_id: str) -> None:
        """Drops the row of a contact that is gone from Outlook (or no longer has the address)."""
        session.execute(delete(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id,
                                          cls.address == address,
                                          cls.outlook_contact_id == outlook_contact_id))


class Case(TimestampMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_tenant_status", "tenant_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    tasks: Mapped[list["Task"]] = relationship(back_populates="case")
    sharing_rules: Mapped[list["SharingRule"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True
    )


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_tenant_case", "tenant_id", "case_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    due_at: Mapped[Optional[datetime]]
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    case: Mapped[Optional[Case]] = relationship(back_populates="tasks")


class Note(Base):
    """A note on a filed email, visible to everyone who can see the email."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_tenant_email", "tenant_id", "email_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id", ondelete="CASCADE"))
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    email: Mapped[Email] = relationship(back_populates="notes")
    author: Mapped[Optional[User]] = relationship()


class SharingRule(Base):
    """All new mail of one mailbox from/to `address` is filed to `case`."""

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
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Only mail that arrives after this moment is filed by the rule.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="sharing_rules")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @classmethod
    def for_addresses(cls, session: Session, tenant_id: str, user_id: int, addresses: Iterable[str]):
        """The rules of one mailbox that match any of these (normalised) addresses."""
        wanted = [a for a in addresses if a]
        if not wanted:
            return []
        return session.scalars(
            select(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id, cls.address.in_(wanted))
        ).all()


class ConversationLink(Base):
    """Every message of a conversation, past and future, follows it to `target`."""

    __tablename__ = "conversation_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "conversation_id", "target_type", "target_id"),
        CheckConstraint(f"target_type IN {_in(TARGET_TYPES)}", name="target_type"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(String(512))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Id)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def for_conversation(cls, session: Session, tenant_id: str, conversation_id: str | None):
        if not conversation_id:
            return []
        return session.scalars(
            select(cls).where(cls.tenant_id == tenant_id, cls.conversation_id == conversation_id)
        ).all()


class SyncCursor(Base):
    """The delta link of one mailbox folder: where the next catch-up starts."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("user_id", "folder"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(512))
    delta_link: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def for_folder(cls, session: Session, tenant_id: str, user_id: int, folder: str) -> "SyncCursor | None":
        return session.scalar(
            select(cls).where(cls.tenant_id == tenant_id, cls.user_id == user_id, cls.folder == folder)
        )


class Subscription(Base):
    """A Graph change-notification subscription on one mailbox folder."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscription_id"),
        Index("ix_subscriptions_user_folder", "user_id", "folder"),
        Index("ix_subscriptions_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subscription_id: Mapped[str] = mapped_column(String(128))  # Graph's id
    resource: Mapped[str] = mapped_column(String(1024))
    folder: Mapped[str] = mapped_column(String(512))
    client_state_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    @classmethod
    def by_subscription_id(cls, session: Session, subscription_id: str) -> "Subscription | None":
        """Webhooks arrive without a tenant; the subscription id (then its stored
        tenant) is what identifies them."""
        return session.scalar(select(cls).where(cls.subscription_id == subscription_id))


JOB_STATES = ("queued", "running", "retrying", "done", "failed")


class SyncJob(Base):
    """A background job (server.sync.jobs): its progress, where a resumable job
    stopped, and failures. One row per `key`, so a duplicate request reuses it.
    Web processes and workers all read and write it, whichever queue runs the job."""

    __tablename__ = "sync_jobs"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_sync_jobs_state", "state", "heartbeat_at"),
        Index("ix_sync_jobs_user", "user_id", "id"),
        CheckConstraint(f"state IN {_in(JOB_STATES)}", name="state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[Optional[str]] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    params: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    # Set when the job was asked for again while it ran: it runs once more after.
    rerun: Mapped[bool] = mapped_column(Boolean, default=False)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[Optional[int]]
    failed: Mapped[int] = mapped_column(default=0)
    # Where a resumable job (bulk sync) goes on from after a crash.
    cursor: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    heartbeat_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]


MODEL_FOR_TARGET: dict[str, type[Base]] = {"contact": Contact, "company": Company, "case": Case, "task": Task}


# Indexes behind the CRM pages' prefix search and keyset-paginated lists (server/web).
# Search compares lower(column) against a [prefix, prefix-successor) range, so each is a
# plain B-tree range scan on SQLite and PostgreSQL alike.
SUBJECT_KEY_LENGTH = 200  # B-tree entries must stay small; a prefix search needs no more


def subject_key(column=None):
    """The indexed search key of an email subject: its first characters, lower-cased.
    The numbers are literals, not bound parameters: SQLite uses an expression index
    only for the very same expression."""
    return func.lower(func.substr(Email.subject if column is None else column,
                                  literal_column("1"), literal_column(str(SUBJECT_KEY_LENGTH))))


Index("ix_contacts_tenant_first_name_lower", Contact.tenant_id, func.lower(Contact.first_name))
Index("ix_contacts_tenant_last_name_lower", Contact.tenant_id, func.lower(Contact.last_name))
Index("ix_contacts_tenant_display_name_lower", Contact.tenant_id, func.lower(Contact.display_name))
Index("ix_emails_tenant_subject_key", Email.tenant_id, subject_key())
Index("ix_cases_tenant_title_lower", Case.tenant_id, func.lower(Case.title))
Index("ix_cases_tenant_id", Case.tenant_id, Case.id)
Index("ix_tasks_tenant_title_lower", Task.tenant_id, func.lower(Task.title))
Index("ix_tasks_tenant_id", Task.tenant_id, Task.id)
