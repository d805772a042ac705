"""Attachments of filed email: what each was (name, type, size, state) and, for the
database blob store, their content, addressed per tenant by SHA-256 and kept in
chunks so that no file is ever held whole in memory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.crm.models.base import Base, sql_in_list
from server.crm.types import Id, utcnow

ATTACHMENT_KINDS = ("file", "item", "reference")
# The API's `state` list is a contract: stored, too large to store, still being
# fetched, or a link (a OneDrive/SharePoint file, or storage turned off).
ATTACHMENT_STATES = ("stored", "too_large", "pending", "link")


class EmailAttachment(Base):
    """One attachment of a filed email, by its Graph id (unique per email)."""

    __tablename__ = "email_attachments"
    __table_args__ = (
        UniqueConstraint("email_id", "graph_id"),
        Index("ix_email_attachments_tenant_sha256", "tenant_id", "sha256"),
        Index("ix_email_attachments_tenant_state", "tenant_id", "state", "id"),
        CheckConstraint(f"kind IN {sql_in_list(ATTACHMENT_KINDS)}", name="kind"),
        CheckConstraint(f"state IN {sql_in_list(ATTACHMENT_STATES)}", name="state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id", ondelete="CASCADE"))
    graph_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(512), default="")
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    sha256: Mapped[str | None] = mapped_column(String(64))
    link_url: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttachmentBlob(Base):
    """One stored file of a tenant, known by its SHA-256 (the database blob store).
    While a put is under way `sha256` holds a unique placeholder and `complete` is false."""

    __tablename__ = "attachment_blobs"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttachmentChunk(Base):
    """A piece of a blob's content, in order of `seq`."""

    __tablename__ = "attachment_chunks"
    __table_args__ = (UniqueConstraint("blob_id", "seq"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    blob_id: Mapped[int] = mapped_column(ForeignKey("attachment_blobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
