"""Filed email: the message, each mailbox's copy of it, what it is filed on, notes,
and conversations that follow a record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.crm.models.base import Base, is_id, sql_in_list
from server.crm.models.link_targets import TARGET_TYPES
from server.crm.models.tenancy import User
from server.crm.prepared import Prepared
from server.crm.types import Id, Json, utcnow

MAILBOX_STATES = ("none", "pending", "synced", "excluded")

LINK_SOURCES = ("address", "company", "manual", "rule", "conversation")


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
    conversation_id: Mapped[str | None] = mapped_column(String(512))
    subject: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(512), default="")
    # Lists of {"address", "name"}; addresses normalised where valid.
    to: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    cc: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    bcc: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    preview: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised (crm.sanitise)
    has_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"name", "content_type", "size"}] as the message listed them; the attachments
    # themselves, with their content, are EmailAttachment rows (models/attachments.py).
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    links: Mapped[list[EmailLink]] = relationship(
        back_populates="email", cascade="all, delete-orphan", passive_deletes=True
    )
    notes: Mapped[list[Note]] = relationship(
        back_populates="email", cascade="all, delete-orphan", passive_deletes=True, order_by="Note.id"
    )

    @classmethod
    def id_in_tenant(cls, session: Session, tenant_id: str, id: int) -> int | None:
        """`id` when an email of this tenant has it, else None: Email.get's check, without
        loading the row (its body and people)."""
        if not is_id(id):
            return None
        return session.scalar(_EMAIL_ID_IN_TENANT, {"id": id, "tenant_id": tenant_id})

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


class MailboxItem(Base):
    """A message in one user's mailbox (immutable Graph id) and its sync state there."""

    __tablename__ = "mailbox_items"
    __table_args__ = (
        UniqueConstraint("user_id", "graph_id"),
        Index("ix_mailbox_items_tenant_email", "tenant_id", "email_id"),
        Index("ix_mailbox_items_user_state", "user_id", "state"),
        CheckConstraint(f"state IN {sql_in_list(MAILBOX_STATES)}", name="state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    graph_id: Mapped[str] = mapped_column(String(512))
    email_id: Mapped[int | None] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="none")
    folder: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    email: Mapped[Email | None] = relationship()

    @classmethod
    def by_graph_id(cls, session: Session, tenant_id: str, user_id: int, graph_id: str) -> MailboxItem | None:
        return session.scalar(_ITEM_BY_GRAPH_ID, {"tenant_id": tenant_id, "user_id": user_id, "graph_id": graph_id})

    @classmethod
    def state_of(cls, session: Session, tenant_id: str, user_id: int, graph_id: str) -> ItemState | None:
        """The message's item in the user's mailbox as values (no session entity), with
        its email's id checked to be of `tenant_id`: one statement for both."""
        row = _ITEM_STATE.first(session, {"tenant_id": tenant_id, "user_id": user_id, "graph_id": graph_id})
        return None if row is None else ItemState(*row)


@dataclass(frozen=True, slots=True)
class ItemState:
    """A MailboxItem as the pane reads it: read-only values, not a session entity (load
    the MailboxItem to change it). `email_id` is the column as stored; `email_in_tenant`
    is that id only when an email of the item's tenant has it (else None)."""

    id: int
    state: str
    email_id: int | None
    email_in_tenant: int | None


class EmailLink(Base):
    """Files an email on a contact, company, case or task; `source` says why."""

    __tablename__ = "email_links"
    __table_args__ = (
        UniqueConstraint("email_id", "target_type", "target_id"),
        Index("ix_email_links_tenant_target", "tenant_id", "target_type", "target_id", "email_id"),
        CheckConstraint(f"target_type IN {sql_in_list(TARGET_TYPES)}", name="target_type"),
        CheckConstraint(f"source IN {sql_in_list(LINK_SOURCES)}", name="source"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
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


class Note(Base):
    """A note on a filed email, visible to everyone who can see the email."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_tenant_email", "tenant_id", "email_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    email: Mapped[Email] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class ConversationLink(Base):
    """One user's link of a conversation to `target`: the conversation's emails already
    in the CRM are linked when it is made, and automatic sync files the conversation's
    new messages of its maker's own mailbox (`created_by_id`) there, and of no other
    mailbox. Colleagues who want the same make their own link. A link whose maker is
    gone (NULL) files nothing."""

    __tablename__ = "conversation_links"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "conversation_id",
            "created_by_id",
            "target_type",
            "target_id",
            name="uq_conversation_links_maker_target",
        ),
        CheckConstraint(f"target_type IN {sql_in_list(TARGET_TYPES)}", name="target_type"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(String(512))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Id)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def for_conversation(cls, session: Session, tenant_id: str, conversation_id: str | None):
        """Everyone's links of a conversation (what the pane lists)."""
        if not conversation_id:
            return []
        return session.scalars(
            _LINKS_OF_CONVERSATION, {"tenant_id": tenant_id, "conversation_id": conversation_id}
        ).all()

    @classmethod
    def values_for_conversation(cls, session: Session, tenant_id: str, conversation_id: str | None) -> list:
        """for_conversation as plain rows (id, target_type, target_id, created_by_id),
        oldest first: what the pane's suggestions read, without session entities."""
        if not conversation_id:
            return []
        return _LINK_VALUES_OF_CONVERSATION.rows(session, {"tenant_id": tenant_id, "conversation_id": conversation_id})

    @classmethod
    def made_by(cls, session: Session, tenant_id: str, user_id: int, conversation_id: str | None):
        """One user's own links of a conversation: the only ones that file their mail."""
        if not conversation_id:
            return []
        return session.scalars(
            select(cls).where(
                cls.tenant_id == tenant_id, cls.conversation_id == conversation_id, cls.created_by_id == user_id
            )
        ).all()


# Indexes behind the CRM pages' prefix search and keyset-paginated lists (server/web).
# Search compares lower(column) against a [prefix, prefix-successor) range, so each is a
# plain B-tree range scan on SQLite and PostgreSQL alike.
SUBJECT_KEY_LENGTH = 200  # B-tree entries must stay small; a prefix search needs no more


def subject_key(column=None):
    """The indexed search key of an email subject: its first characters, lower-cased.
    The numbers are literals, not bound parameters: SQLite uses an expression index
    only for the very same expression."""
    return func.lower(
        func.substr(
            Email.subject if column is None else column, literal_column("1"), literal_column(str(SUBJECT_KEY_LENGTH))
        )
    )


Index("ix_emails_tenant_subject_key", Email.tenant_id, subject_key())


# The pane's open and sync run these on every request: built once, they skip
# SQLAlchemy's per-call statement construction and cache-key work (about half a
# simple query's CPU; bench/b1_profile.py shows it).
_EMAIL_ID_IN_TENANT = select(Email.__table__.c.id).where(
    Email.__table__.c.id == bindparam("id"), Email.__table__.c.tenant_id == bindparam("tenant_id")
)
_ITEM_BY_GRAPH_ID = select(MailboxItem).where(
    MailboxItem.tenant_id == bindparam("tenant_id"),
    MailboxItem.user_id == bindparam("user_id"),
    MailboxItem.graph_id == bindparam("graph_id"),
)
# The item and its email's id in one statement, on the tables (plain values): the email
# is joined only within the caller's tenant, so another tenant's id reads as none.
_items, _emails = MailboxItem.__table__, Email.__table__
_ITEM_STATE = Prepared(
    select(_items.c.id, _items.c.state, _items.c.email_id, _emails.c.id)
    .select_from(
        _items.outerjoin(
            _emails, and_(_emails.c.id == _items.c.email_id, _emails.c.tenant_id == bindparam("tenant_id"))
        )
    )
    .where(
        _items.c.tenant_id == bindparam("tenant_id"),
        _items.c.user_id == bindparam("user_id"),
        _items.c.graph_id == bindparam("graph_id"),
    )
)
_LINKS_OF_CONVERSATION = select(ConversationLink).where(
    ConversationLink.tenant_id == bindparam("tenant_id"),
    ConversationLink.conversation_id == bindparam("conversation_id"),
)
_links = ConversationLink.__table__
_LINK_VALUES_OF_CONVERSATION = Prepared(
    select(_links.c.id, _links.c.target_type, _links.c.target_id, _links.c.created_by_id)
    .where(_links.c.tenant_id == bindparam("tenant_id"), _links.c.conversation_id == bindparam("conversation_id"))
    .order_by(_links.c.id)
)
