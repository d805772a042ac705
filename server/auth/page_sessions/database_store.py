"""Page sessions in the database (the default): the `page_sessions` table, each call in
a short transaction of its own, apart from the request's."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from server.auth.page_sessions.records import SessionRecord
from server.crm.models import PageSession

# Ended and expired rows are kept this long (who was signed in, when, and why it
# ended), then dropped when the same user signs in again.
KEEP_ENDED = timedelta(days=30)

FIELDS = (
    "id_hash",
    "tenant_id",
    "user_id",
    "created_at",
    "last_seen_at",
    "expires_at",
    "checked_at",
    "revoked_at",
    "revoked_reason",
    "user_agent",
    "data",
    "refresh_token",
)


def _record(row: PageSession) -> SessionRecord:
    values = {name: getattr(row, name) for name in FIELDS}
    values["data"] = dict(row.data or {})
    return SessionRecord(**values)


class DatabaseSessions:
    """`SessionStore` on the app's database."""

    def __init__(self, session_factory: sessionmaker[Session]):
        self.session_factory = session_factory

    def create(self, record: SessionRecord) -> None:
        with self.session_factory.begin() as db:
            db.execute(
                delete(PageSession).where(
                    PageSession.tenant_id == record.tenant_id,
                    PageSession.user_id == record.user_id,
                    PageSession.expires_at < record.created_at - KEEP_ENDED,
                )
            )
            db.add(PageSession(**{name: getattr(record, name) for name in FIELDS}))

    def get(self, id_hash: str) -> SessionRecord | None:
        with self.session_factory() as db:
            row = db.get(PageSession, id_hash)
            return _record(row) if row is not None else None

    def save(self, record: SessionRecord) -> None:
        with self.session_factory.begin() as db:
            db.execute(
                update(PageSession)
                .where(PageSession.id_hash == record.id_hash, PageSession.revoked_at.is_(None))
                .values(
                    last_seen_at=record.last_seen_at,
                    checked_at=record.checked_at,
                    refresh_token=record.refresh_token,
                    data=dict(record.data),
                )
            )

    def of_user(self, tenant_id: str, user_id: int, now: datetime) -> list[SessionRecord]:
        with self.session_factory() as db:
            rows = db.scalars(
                select(PageSession)
                .where(
                    PageSession.tenant_id == tenant_id,
                    PageSession.user_id == user_id,
                    PageSession.expires_at > now,
                    PageSession.revoked_at.is_(None),
                )
                .order_by(PageSession.created_at.desc())
            )
            return [_record(row) for row in rows]

    def of_tenant(self, tenant_id: str, now: datetime) -> list[SessionRecord]:
        with self.session_factory() as db:
            rows = db.scalars(
                select(PageSession)
                .where(
                    PageSession.tenant_id == tenant_id,
                    PageSession.expires_at > now,
                    PageSession.revoked_at.is_(None),
                )
                .order_by(PageSession.created_at.desc())
            )
            return [_record(row) for row in rows]

    def revoke(self, id_hashes: list[str], reason: str, now: datetime) -> int:
        if not id_hashes:
            return 0
        with self.session_factory.begin() as db:
            result = db.execute(
                update(PageSession)
                .where(PageSession.id_hash.in_(id_hashes), PageSession.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason, refresh_token=None, data={})
            )
            return int(result.rowcount or 0)
