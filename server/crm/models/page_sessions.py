"""Sessions of the CRM pages, kept on the server (the database backend of
`server.auth.page_sessions`): the browser's cookie holds only a random id, this
table its SHA-256, so a copied database row is no key and a session that is
ended here is ended everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, mapped_column

from server.crm.models.base import Base
from server.crm.types import Json, utcnow


class PageSession(Base):
    """One signed-in browser: who, since when, until when, and whether it was ended."""

    __tablename__ = "page_sessions"
    __table_args__ = (
        Index("ix_page_sessions_user", "tenant_id", "user_id", "expires_at"),
        Index("ix_page_sessions_expires_at", "expires_at"),
    )

    # SHA-256 (hex) of the cookie's random id; the id itself is never stored.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # A user removed from the CRM takes their sessions with them.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # When the sign-in was last confirmed with Entra ID (a silent refresh).
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str] = mapped_column(String(256), default="")
    # The pages' per-session values (CSRF token, one-time notices).
    data: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    # Entra's refresh token for the re-check, encrypted with a key derived from SECRET_KEY.
    refresh_token: Mapped[str | None] = mapped_column(Text)
