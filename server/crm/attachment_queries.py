"""Reading filed attachments: an email's list, one attachment within a tenant, the
"Files" of a contact or company (newest first, one entry per file), their API shape,
and streaming a stored file on a session of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, String, Text, bindparam, cast, func, literal_column, null, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from server.crm.attachments import AttachmentNotFound
from server.crm.blob_store import BlobStore, blob_store
from server.crm.keyset import Page, after_desc, decode_cursor, page_of
from server.crm.models import ConversationLink, Email, EmailLink
from server.crm.models.attachments import EmailAttachment
from server.crm.prepared import Prepared
from server.crm.sanitise import normal_content_id
from server.crm.types import Id

# The only types a browser is ever asked to show in place (the email page's inline
# images); SVG can carry script and is always a download, like everything else.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
FILES_PAGE_SIZE = 50


def attachments_of(session: Session, tenant_id: str, email_id: int) -> list[EmailAttachment]:
    """The email's attachments in the order the message lists them."""
    return list(session.scalars(_ATTACHMENTS_OF, {"tenant_id": tenant_id, "email_id": email_id}))


def attachment_values_of(session: Session, tenant_id: str, email_id: int) -> list:
    """attachments_of as plain rows with what `attachment_json` reads (id, name,
    content_type, size, inline, state, link_url), not session entities: the pane's
    message view lists them on every open and sync."""
    return _ATTACHMENT_VALUES_OF.rows(session, {"tenant_id": tenant_id, "email_id": email_id})


def attachments_and_links(session: Session, tenant_id: str, email_id: int, conversation_id: str) -> tuple[list, list]:
    """(attachment_values_of, ConversationLink.values_for_conversation) in one statement:
    an open of a filed message shows both. Each part is scoped to the tenant by itself."""
    attachments, links = [], []
    params = {"tenant_id": tenant_id, "email_id": email_id, "conversation_id": conversation_id}
    for row in _ATTACHMENTS_AND_LINKS.rows(session, params):
        if row.kind == "a":
            attachments.append(row)
        else:
            links.append(row)
    return attachments, links


# Built once: the pane's open and sync list the email's attachments every time.
_attachments = EmailAttachment.__table__
_ATTACHMENT_VALUES_OF = Prepared(
    select(
        _attachments.c.id,
        _attachments.c.name,
        _attachments.c.content_type,
        _attachments.c.size,
        _attachments.c.inline,
        _attachments.c.state,
        _attachments.c.link_url,
    )
    .where(_attachments.c.tenant_id == bindparam("tenant_id"), _attachments.c.email_id == bindparam("email_id"))
    .order_by(_attachments.c.id)
)
_links = ConversationLink.__table__


def _none(type_):
    return cast(null(), type_)


# One UNION ALL of the two, each row padded with typed NULLs to the other's columns (and
# the columns named as both reads name theirs), attachments then links, each by id.
_ATTACHMENTS_AND_LINKS = Prepared(
    union_all(
        select(
            literal_column("'a'").label("kind"),
            _attachments.c.id,
            _attachments.c.name,
            _attachments.c.content_type,
            _attachments.c.size,
            _attachments.c.inline,
            _attachments.c.state,
            _attachments.c.link_url,
            _none(String(16)).label("target_type"),
            _none(Id).label("target_id"),
            _none(Id).label("created_by_id"),
        ).where(_attachments.c.tenant_id == bindparam("tenant_id"), _attachments.c.email_id == bindparam("email_id")),
        select(
            literal_column("'l'"),
            _links.c.id,
            _none(String(512)),
            _none(String(255)),
            _none(BigInteger),
            _none(Boolean),
            _none(String(16)),
            _none(Text),
            _links.c.target_type,
            _links.c.target_id,
            _links.c.created_by_id,
        ).where(_links.c.tenant_id == bindparam("tenant_id"), _links.c.conversation_id == bindparam("conversation_id")),
    ).order_by(literal_column("kind"), literal_column("id"))
)
_ATTACHMENTS_OF = (
    select(EmailAttachment)
    .where(EmailAttachment.tenant_id == bindparam("tenant_id"), EmailAttachment.email_id == bindparam("email_id"))
    .order_by(EmailAttachment.id)
)


def attachment_of(session: Session, tenant_id: str, attachment_id: int) -> EmailAttachment:
    """The attachment, only within the tenant (another tenant's reads as none). Raises AttachmentNotFound."""
    row = EmailAttachment.get(session, tenant_id, attachment_id)
    if row is None:
        raise AttachmentNotFound()
    return row


def shows_inline(row: EmailAttachment) -> bool:
    """Whether a browser may show this attachment in place (a stored png, jpeg, gif or webp)."""
    return row.state == "stored" and base_type(row.content_type) in INLINE_IMAGE_TYPES


def base_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def inline_image_urls(rows: list[EmailAttachment], url_for: Callable[[EmailAttachment], str]) -> dict[str, str]:
    """content id -> our URL, for each stored inline-able image of an email."""
    return {normal_content_id(r.content_id): url_for(r) for r in rows if r.content_id and shows_inline(r)}


def attachment_json(row: Any, download_url: Callable[[int], str]) -> dict[str, Any]:
    """The API's shape of an EmailAttachment or a row of attachment_values_of: `url`
    opens the file (our download for a stored one, the OneDrive/SharePoint link or the
    message in Outlook otherwise; none while pending)."""
    if row.state == "stored":
        url = download_url(row.id)
    elif row.state in ("link", "too_large"):
        url = web_link(row.link_url)
    else:
        url = None
    return {
        "id": row.id,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "inline": row.inline,
        "state": row.state,
        "url": url,
    }


def web_link(url: str | None) -> str | None:
    """A stored link only when it is a web address (never javascript: or data:)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


@dataclass
class FileRow:
    attachment: EmailAttachment
    email: Email


def files_page(
    session: Session, tenant_id: str, target_type: str, target_id: int, after: str | None, size: int = FILES_PAGE_SIZE
) -> Page:
    """Every attachment of the emails filed on a contact or company, newest email
    first, one entry per file (the newest email that carried it; a file not stored
    has no hash and is its own entry). Inline images are part of a body, not files
    exchanged, and are left out. Rows are FileRow. Raises InvalidCursor."""
    cursor = decode_cursor(after, (datetime, int))
    identity = func.coalesce(EmailAttachment.sha256, "id:" + cast(EmailAttachment.id, String))
    ranked = (
        select(
            EmailAttachment.id.label("attachment_id"),
            Email.sent_at.label("sent_at"),
            func.row_number()
            .over(partition_by=identity, order_by=(Email.sent_at.desc(), EmailAttachment.id.desc()))
            .label("rank"),
        )
        .join(Email, Email.id == EmailAttachment.email_id)
        .join(EmailLink, EmailLink.email_id == Email.id)
        .where(
            EmailAttachment.tenant_id == tenant_id,
            EmailAttachment.inline.is_(False),
            EmailLink.tenant_id == tenant_id,
            EmailLink.target_type == target_type,
            EmailLink.target_id == target_id,
        )
        .subquery()
    )
    query = select(ranked.c.attachment_id, ranked.c.sent_at).where(ranked.c.rank == 1)
    nulls_first = session.get_bind().dialect.name == "postgresql"
    condition = after_desc(ranked.c.sent_at, ranked.c.attachment_id, cursor, nulls_first=nulls_first)
    if condition is not None:
        query = query.where(condition)
    keys = session.execute(query.order_by(ranked.c.sent_at.desc(), ranked.c.attachment_id.desc()).limit(size + 1)).all()
    page = page_of(list(keys), lambda k: [k.sent_at, k.attachment_id], size)
    ids = [k.attachment_id for k in page.rows]
    found = (
        {
            a.id: FileRow(a, e)
            for a, e in session.execute(
                select(EmailAttachment, Email)
                .join(Email, Email.id == EmailAttachment.email_id)
                .where(EmailAttachment.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    return Page([found[i] for i in ids], page.next_cursor)


def stream_content(
    session_factory: sessionmaker[Session], tenant_id: str, sha256: str, store: BlobStore | None = None
) -> Iterator[bytes]:
    """The stored file, chunk by chunk, read on a session of its own that lives as
    long as the stream (a web response is sent after its request's session closed)."""
    store = store or blob_store()
    with session_factory() as session:
        yield from store.open(session, tenant_id, sha256)
