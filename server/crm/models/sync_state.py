"""Sync bookkeeping: folder delta links, Graph subscriptions, change notifications
not yet acted on, background jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.crm.models.base import Base, sql_in_list
from server.crm.models.tenancy import User
from server.crm.types import Id, Json, utcnow


class SyncCursor(Base):
    """The delta link of one mailbox folder: where the next catch-up starts."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("user_id", "folder"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(512))
    delta_link: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def for_folder(cls, session: Session, tenant_id: str, user_id: int, folder: str) -> SyncCursor | None:
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


class MessageChange(Base):
    """A change notification for a message of a mailbox, not yet acted on: one row per
    mailbox and message however often it is notified. `token` changes with every
    notification, so the job that handles the row deletes it only when nothing newer
    came meanwhile (server/sync/message_changes.py)."""

    __tablename__ = "message_changes"
    __table_args__ = (UniqueConstraint("user_id", "graph_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    graph_id: Mapped[str] = mapped_column(String(512))
    token: Mapped[str] = mapped_column(String(32))
    noted_at: Mapped[datetime] = mapped_column(default=utcnow)


JOB_STATES = ("queued", "running", "retrying", "done", "failed")


class SyncJob(Base):
    """A background job (server.jobs): its progress, where a resumable job
    stopped, and failures. One row per `key`, so a duplicate request reuses it.
    Web processes and workers all read and write it, whichever queue runs the job."""

    __tablename__ = "sync_jobs"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_sync_jobs_state", "state", "heartbeat_at"),
        Index("ix_sync_jobs_user", "user_id", "id"),
        CheckConstraint(f"state IN {sql_in_list(JOB_STATES)}", name="state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    params: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    # Set when the job was asked for again while it ran: it runs once more after.
    rerun: Mapped[bool] = mapped_column(Boolean, default=False)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    failed: Mapped[int] = mapped_column(default=0)
    # Where a resumable job (bulk sync) goes on from after a crash.
    cursor: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
