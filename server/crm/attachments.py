"""Attachments of filed email: recording what a message carries, storing the content
(through the blob store, in the caller's transaction), the limits, and releasing
content no email refers to any more.

The sync side calls these in this order: `record_attachments` when it files the
email (every file and item attachment starts "pending", a link is a link, one over a
limit is "too_large"), then `store_content` per pending row as it streams the bytes
from Graph; a failed download calls `record_failure` and leaves the row pending for
`pending_attachments`, the retry job's list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.config import declared_default
from server.crm.blob_store import BlobStore, blob_store
from server.crm.models import Email, Tenant
from server.crm.models.attachments import ATTACHMENT_KINDS, EmailAttachment
from server.crm.record_errors import RecordNotFound
from server.domain_errors import Invalid, NotFound

STORED_KINDS = ("file", "item")  # kinds with content; a reference is only a link
ERROR_LENGTH = 2000


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"

    def __init__(self) -> None:
        super().__init__("There is no such attachment.")


class AttachmentTooLarge(Invalid):
    """The content turned out larger than a limit while it was being stored."""

    code = "attachment_too_large"


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int
    max_bytes_per_email: int

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> AttachmentLimits:
        settings = settings or {}

        def value(name: str) -> int:
            found = settings.get(name)
            return int(declared_default(name) if found is None else found)

        return cls(value("ATTACHMENT_MAX_BYTES"), value("ATTACHMENTS_MAX_BYTES_PER_EMAIL"))

    @classmethod
    def of(cls, session: Session) -> AttachmentLimits:
        """The limits of the app whose session this is (the declared defaults without one)."""
        return cls.from_settings(session.info.get("settings"))


def attachment_storage_enabled(session: Session, tenant_id: str) -> bool:
    tenant = session.get(Tenant, tenant_id)
    settings = tenant.effective_settings() if tenant is not None else {}
    return bool(settings.get("store_attachments", True))


def _clip(value: Any, length: int) -> str:
    return str(value or "")[:length]


def record_attachments(
    session: Session,
    tenant_id: str,
    email_id: int,
    items: list[dict[str, Any]],
    *,
    limits: AttachmentLimits | None = None,
) -> list[EmailAttachment]:
    """The email's attachment rows for `items` ({graph_id, kind, name, content_type,
    size, inline, content_id, link_url}), in the items' order. Idempotent by
    (email, graph_id): a row already recorded is returned as it is. File and item
    attachments start "pending"; one over ATTACHMENT_MAX_BYTES, or past
    ATTACHMENTS_MAX_BYTES_PER_EMAIL counted in list order, starts "too_large"; a
    reference, and every attachment of a tenant that turned storage off, is a "link"
    (its sourceUrl; the message's webLink otherwise)."""
    if Email.get(session, tenant_id, email_id) is None:
        raise RecordNotFound(f"email {email_id}")
    limits = limits or AttachmentLimits.of(session)
    storing = attachment_storage_enabled(session, tenant_id)
    existing = {
        row.graph_id: row
        for row in session.scalars(
            select(EmailAttachment).where(EmailAttachment.tenant_id == tenant_id, EmailAttachment.email_id == email_id)
        )
    }
    budget = limits.max_bytes_per_email
    rows: list[EmailAttachment] = []
    for item in items:
        graph_id = _clip(item["graph_id"], 512)
        kind = item.get("kind") or "file"
        if kind not in ATTACHMENT_KINDS:
            raise Invalid(f"unknown attachment kind {kind!r}")
        size = max(int(item.get("size") or 0), 0)
        row = existing.get(graph_id)
        if row is None:
            if kind == "reference" or not storing:
                state = "link"
            elif size > limits.max_bytes or size > budget:
                state = "too_large"
            else:
                state = "pending"
            row = EmailAttachment(
                tenant_id=tenant_id,
                email_id=email_id,
                graph_id=graph_id,
                kind=kind,
                name=_clip(item.get("name"), 512),
                content_type=_clip(item.get("content_type") or "application/octet-stream", 255),
                size=size,
                inline=bool(item.get("inline")),
                content_id=_clip(item.get("content_id"), 512) or None,
                state=state,
                link_url=item.get("link_url") or None,
                attempts=0,
            )
            session.add(row)
            existing[graph_id] = row
        if row.kind in STORED_KINDS and row.state in ("pending", "stored"):
            budget -= row.size
        rows.append(row)
    session.flush()
    return rows


def _limited(chunks: Iterable[bytes], allowance: int) -> Iterator[bytes]:
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > allowance:
            raise AttachmentTooLarge(f"the content is larger than {allowance} bytes")
        yield chunk


def store_content(
    session: Session,
    tenant_id: str,
    attachment_id: int,
    chunks: Iterable[bytes],
    *,
    limits: AttachmentLimits | None = None,
    store: BlobStore | None = None,
) -> EmailAttachment:
    """Streams the attachment's content into the blob store and marks the row "stored",
    in the caller's transaction. Content larger than a limit marks the row
    "too_large" and keeps nothing. Any other failure of the stream is raised, after
    the store removed what it wrote: the row stays "pending" for a later retry. A row
    that is not pending is returned as it is (the stream is not read)."""
    row = EmailAttachment.get(session, tenant_id, attachment_id)
    if row is None:
        raise AttachmentNotFound()
    if row.state != "pending":
        return row
    limits = limits or AttachmentLimits.of(session)
    store = store or blob_store()
    others = session.scalar(
        select(func.coalesce(func.sum(EmailAttachment.size), 0)).where(
            EmailAttachment.email_id == row.email_id,
            EmailAttachment.id != row.id,
            EmailAttachment.kind.in_(STORED_KINDS),
            EmailAttachment.state == "stored",
        )
    )
    allowance = min(limits.max_bytes, limits.max_bytes_per_email - int(others or 0))
    try:
        blob = store.put(session, tenant_id, _limited(chunks, max(allowance, 0)))
    except AttachmentTooLarge:
        row.state = "too_large"
        session.flush()
        return row
    row.sha256 = blob.sha256
    row.size = blob.size
    row.state = "stored"
    row.last_error = None
    session.flush()
    return row


def record_failure(session: Session, tenant_id: str, attachment_id: int, error: str) -> EmailAttachment | None:
    """Counts a failed download of a pending attachment and keeps why; the row stays pending."""
    row = EmailAttachment.get(session, tenant_id, attachment_id)
    if row is None:
        return None
    row.attempts = (row.attempts or 0) + 1
    row.last_error = _clip(error, ERROR_LENGTH)
    session.flush()
    return row


def pending_attachments(
    session: Session,
    tenant_id: str | None = None,
    limit: int = 100,
    max_attempts: int | None = None,
    email_id: int | None = None,
) -> list[EmailAttachment]:
    """Attachments still to be fetched (of one email, given `email_id`), fewest attempts
    first, oldest first."""
    query = select(EmailAttachment).where(EmailAttachment.state == "pending")
    if tenant_id is not None:
        query = query.where(EmailAttachment.tenant_id == tenant_id)
    if email_id is not None:
        query = query.where(EmailAttachment.email_id == email_id)
    if max_attempts is not None:
        query = query.where(EmailAttachment.attempts < max_attempts)
    return list(session.scalars(query.order_by(EmailAttachment.attempts, EmailAttachment.id).limit(limit)))


def release_content(
    session: Session, tenant_id: str, sha256s: Iterable[str | None], *, store: BlobStore | None = None
) -> list[str]:
    """Deletes each file no attachment row of the tenant refers to any more; returns their hashes."""
    store = store or blob_store()
    released = []
    for sha256 in dict.fromkeys(s for s in sha256s if s):
        still_used = session.scalar(
            select(EmailAttachment.id)
            .where(EmailAttachment.tenant_id == tenant_id, EmailAttachment.sha256 == sha256)
            .limit(1)
        )
        if still_used is None:
            store.delete(session, tenant_id, sha256)
            released.append(sha256)
    return released


def delete_attachments_of(session: Session, tenant_id: str, email_id: int, *, store: BlobStore | None = None) -> None:
    """Removes an email's attachment rows, and the files no other email refers to."""
    sha256s = session.scalars(
        select(EmailAttachment.sha256).where(
            EmailAttachment.tenant_id == tenant_id, EmailAttachment.email_id == email_id
        )
    ).all()
    session.execute(
        delete(EmailAttachment).where(EmailAttachment.tenant_id == tenant_id, EmailAttachment.email_id == email_id)
    )
    release_content(session, tenant_id, sha256s, store=store)


def delete_email(session: Session, tenant_id: str, email_id: int) -> None:
    """Deletes a filed email with its links, notes and attachments; a file goes with
    the last email that refers to it."""
    email = Email.get(session, tenant_id, email_id)
    if email is None:
        raise RecordNotFound(f"email {email_id}")
    delete_attachments_of(session, tenant_id, email_id)
    session.delete(email)
    session.flush()
