"""Attachments of a filed email: recorded with it, their content streamed from Graph
into the CRM's blob store, and the ones a fault left behind fetched again later.

`store_attachments(mailbox, email_id, message)` runs right after the email is filed
(`file_message.file_in_crm`, the one place manual, batch, automatic, bulk and
category-commanded filing share). The message already carries its attachments'
metadata (the read's `$expand=attachments($select=...)`, never `contentBytes`), so the
rows cost no request. Then each pending attachment over SMALL_BYTES costs one streamed
`/$value` request, and the small ones (inline logos, signatures, short documents),
when there are at least two, share `$batch` calls of up to 20 parts and SMALL_BATCH_BYTES
in all: a batch answers every body base64-encoded inside one JSON document, which is
buffering, so it is kept to what is small by construction. A sync of a message with k
attachments, s of them small, is therefore 1 read (with the metadata) + (k - s) `$value`
streams + ceil(s / 20) `$batch` calls (none when s < 2; then they stream) + 1 mark
PATCH. A part the batch could not answer is streamed alone.

The email stays filed whatever happens to its attachments. A download that is
throttled, answers 5xx or times out at the start is retried by the transport within
GRAPH_MAX_WAIT_S; one that breaks off half-way is repeated once at once. After that
the row stays "pending" (attempts and the error kept) and the `attachments` job,
queued every ATTACHMENT_RETRY_S by the periodic task of the same name, fetches it
again through the mailbox of a user who filed the email. The blob store writes a file
and flips its row to "stored" in one transaction, and removes what it wrote when the
stream fails: no partial file, and no duplicate (content is addressed by SHA-256, rows
by (email, Graph id)), whatever the number of repeats.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from server.crm.attachments import pending_attachments, record_attachments, record_failure, store_content
from server.crm.models import MailboxItem, User
from server.crm.models.attachments import EmailAttachment
from server.db import Database
from server.graph import BATCH_LIMIT, DownloadInterrupted, GraphError, attachment_kind
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.jobs.schedule import periodic
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import job_mailbox

log = logging.getLogger(__name__)

DOWNLOAD_TRIES = 2  # a download cut half-way is repeated once, at once
SMALL_BYTES = 256 * 1024  # at most this: fetched in a $batch with the other small ones
SMALL_BATCH_BYTES = 2 * 1024 * 1024  # the most one $batch of small contents may carry
MAX_ATTEMPTS = 10  # failed downloads of one attachment before the retry job leaves it
ATTACHMENT_RETRY_S = 300
RETRY_BATCH = 200  # pending attachments looked at per retry round
ITEM_CONTENT_TYPE = "message/rfc822"


@dataclass
class Stored:
    """What one email's attachments came to in one pass."""

    stored: int = 0
    pending: int = 0


def attachment_items(message: Mapping) -> list[dict]:
    """`record_attachments` items from the Graph message's attachment metadata.

    An item attachment's content is its MIME; a reference attachment (OneDrive,
    SharePoint) has no URL in Graph v1.0, so its link, like a too-large file's, is the
    message in Outlook (webLink)."""
    web_link = message.get("webLink")
    items = []
    for attachment in message.get("attachments") or ():
        kind = attachment_kind(attachment)
        items.append(
            {
                "graph_id": attachment.get("id") or "",
                "kind": kind,
                "name": attachment.get("name") or "",
                "content_type": ITEM_CONTENT_TYPE
                if kind == "item"
                else (attachment.get("contentType") or "application/octet-stream"),
                "size": attachment.get("size") or 0,
                "inline": bool(attachment.get("isInline")),
                "content_id": attachment.get("contentId"),
                "link_url": web_link,
            }
        )
    return [i for i in items if i["graph_id"]]


def store_attachments(mailbox: Mailbox, email_id: int, message: Mapping) -> Stored:
    """Records the filed email's attachments and streams each pending one into the CRM.
    Never raises for Graph's sake: what could not be fetched stays pending."""
    items = attachment_items(message)
    if not items:
        return Stored()
    session = mailbox.session
    sizes = {i["graph_id"]: int(i["size"] or 0) for i in items}
    pending = [
        (row_id, graph_id) for row_id, state, graph_id in _rows_for(mailbox, email_id, items) if state == "pending"
    ]
    session.commit()
    small = [p for p in pending if sizes.get(p[1], 0) <= SMALL_BYTES]
    if len(small) < 2:
        small = []
    outcome = Stored()
    streamed = [p for p in pending if p not in small]
    for group in _small_groups(small, sizes):
        streamed += _store_batched(mailbox, message["id"], group, outcome)
    for row_id, graph_id in streamed:
        if fetch_content(mailbox, row_id, message["id"], graph_id):
            outcome.stored += 1
        else:
            outcome.pending += 1
    return outcome


def fetch_missing(mailbox: Mailbox, email_id: int, message: Mapping) -> Stored:
    """A repeat sync of a filed email: fetches its attachments still pending now (through
    the message just read), rather than waiting for the retry job. Costs nothing, no
    Graph request, when none is pending."""
    if not pending_attachments(mailbox.session, mailbox.tenant_id, limit=1, email_id=email_id):
        return Stored()
    return store_attachments(mailbox, email_id, message)


def _small_groups(small: list[tuple[int, str]], sizes: Mapping[str, int]) -> list[list[tuple[int, str]]]:
    """The small attachments in groups of at most 20 and SMALL_BATCH_BYTES."""
    groups: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    total = 0
    for pair in small:
        size = sizes.get(pair[1], 0)
        if current and (len(current) >= BATCH_LIMIT or total + size > SMALL_BATCH_BYTES):
            groups.append(current)
            current, total = [], 0
        current.append(pair)
        total += size
    if current:
        groups.append(current)
    return groups


def _store_batched(mailbox: Mailbox, message_id: str, group: list[tuple[int, str]], outcome: Stored):
    """Stores a group of small attachments from one `$batch`; returns those to stream instead."""
    session = mailbox.session
    try:
        contents = mailbox.graph.small_attachment_contents(message_id, [graph_id for _, graph_id in group])
    except GraphError as exc:
        log.info("attachments of message %s: $batch failed (%r), streaming them one by one", message_id, exc)
        return list(group)
    left = []
    for row_id, graph_id in group:
        content = contents.get(graph_id)
        if not isinstance(content, bytes):
            left.append((row_id, graph_id))
            continue
        try:
            store_content(session, mailbox.tenant_id, row_id, [content])
            session.commit()
            outcome.stored += 1
        except Exception:  # the email stays filed; the stream gets its own chance
            session.rollback()
            log.exception("attachment %s of message %s: storing failed", row_id, message_id)
            left.append((row_id, graph_id))
    return left


def _rows_for(mailbox: Mailbox, email_id: int, items: list[dict]) -> list[tuple[int, str, str]]:
    """(row id, state, this mailbox's attachment id) for each item.

    Another user may have filed the same email first: their rows carry their
    mailbox's attachment ids, which differ from ours. Then our attachments are the same
    ones in the same order, and a row still pending is fetched through our ids."""
    session = mailbox.session
    existing = list(
        session.scalars(
            select(EmailAttachment)
            .where(EmailAttachment.tenant_id == mailbox.tenant_id, EmailAttachment.email_id == email_id)
            .order_by(EmailAttachment.id)
        )
    )
    ours = {i["graph_id"] for i in items}
    if existing and not any(row.graph_id in ours for row in existing):
        if len(existing) != len(items) or any(row.name != i["name"][:512] for row, i in zip(existing, items)):
            return []
        return [(row.id, row.state, i["graph_id"]) for row, i in zip(existing, items)]
    rows = record_attachments(session, mailbox.tenant_id, email_id, items)
    return [(row.id, row.state, i["graph_id"]) for row, i in zip(rows, items)]


def fetch_content(mailbox: Mailbox, row_id: int, message_id: str, graph_id: str) -> bool:
    """Streams one attachment's content into its row (committed); True when stored or
    found over a limit. On failure the row stays pending with the error counted."""
    session = mailbox.session
    error: BaseException | None = None
    for _ in range(DOWNLOAD_TRIES):
        try:
            store_content(session, mailbox.tenant_id, row_id, mailbox.graph.attachment_content(message_id, graph_id))
            session.commit()
            return True
        except DownloadInterrupted as exc:
            session.rollback()
            error = exc
        except GraphError as exc:
            session.rollback()
            error = exc
            break
        except Exception as exc:  # the email stays filed whatever happens here
            session.rollback()
            log.exception("attachment %s of message %s: storing failed", row_id, message_id)
            error = exc
            break
    log.info("attachment %s of message %s left pending: %r", row_id, message_id, error)
    record_failure(session, mailbox.tenant_id, row_id, _describe(error))
    session.commit()
    return False


def _describe(error: BaseException | None) -> str:
    if isinstance(error, GraphError):
        return f"{error.status} {error.code}: {error.message}"
    return type(error).__name__ if error is not None else "unknown"


# -- the retry job -----------------------------------------------------------------------


def retry_pending(mailbox: Mailbox, limit: int = RETRY_BATCH) -> Stored:
    """Fetches the pending attachments of emails this user filed (through this
    mailbox's copy of each message); returns how many were stored and are still pending."""
    session = mailbox.session
    outcome = Stored()
    by_email: dict[int, list[EmailAttachment]] = {}
    for row in pending_attachments(session, mailbox.tenant_id, limit=limit, max_attempts=MAX_ATTEMPTS):
        by_email.setdefault(row.email_id, []).append(row)
    for email_id, rows in by_email.items():
        message_id = session.scalar(
            select(MailboxItem.graph_id).where(
                MailboxItem.user_id == mailbox.me.id,
                MailboxItem.email_id == email_id,
                MailboxItem.state == "synced",
            )
        )
        if message_id is None:
            continue
        try:
            listed = mailbox.graph.list_attachments(message_id)
        except GraphError as exc:
            for row in rows:
                record_failure(session, mailbox.tenant_id, row.id, _describe(exc))
            session.commit()
            outcome.pending += len(rows)
            continue
        for row_id, graph_id in _match(session, mailbox.tenant_id, email_id, rows, listed):
            if graph_id is not None and fetch_content(mailbox, row_id, message_id, graph_id):
                outcome.stored += 1
            else:
                if graph_id is None:
                    record_failure(session, mailbox.tenant_id, row_id, "the attachment is no longer on the message")
                    session.commit()
                outcome.pending += 1
    return outcome


def _match(session, tenant_id: str, email_id: int, rows: list[EmailAttachment], listed: list[dict]):
    """(row id, this mailbox's attachment id or None) for each pending row: by Graph id,
    else by position among the email's attachments (another user's copy)."""
    ids = {a.get("id") for a in listed}
    order = list(
        session.scalars(
            select(EmailAttachment.id)
            .where(EmailAttachment.tenant_id == tenant_id, EmailAttachment.email_id == email_id)
            .order_by(EmailAttachment.id)
        )
    )
    out = []
    for row in rows:
        if row.graph_id in ids:
            out.append((row.id, row.graph_id))
            continue
        index = order.index(row.id)
        same = listed[index] if index < len(listed) and len(listed) == len(order) else None
        out.append((row.id, same.get("id") if same and (same.get("name") or "") == row.name else None))
    return out


@job("attachments")
def attachments_job(ctx: JobContext) -> None:
    """Fetches the attachments a fault left pending, for one user's filed email."""
    mailbox = job_mailbox(ctx)
    if mailbox is None:
        return
    outcome = retry_pending(mailbox)
    ctx.progress(done=outcome.stored, total=outcome.stored + outcome.pending, failed=outcome.pending)


def enqueue_attachments(app: Flask, user: User) -> int:
    return enqueue("attachments", {}, key=f"attachments:{user.id}", tenant_id=user.tenant_id, user_id=user.id, app=app)


@periodic("attachments", every_s=ATTACHMENT_RETRY_S)
def schedule_attachment_retries(app: Flask) -> int:
    """Queues the `attachments` job for each user who filed an email with a pending
    attachment; returns how many."""
    with Database.state(app).session_factory() as session:
        email_ids = {row.email_id for row in pending_attachments(session, limit=RETRY_BATCH, max_attempts=MAX_ATTEMPTS)}
        if not email_ids:
            return 0
        users = session.scalars(
            select(User)
            .join(MailboxItem, MailboxItem.user_id == User.id)
            .where(MailboxItem.email_id.in_(email_ids), MailboxItem.state == "synced")
            .distinct()
        ).all()
        for user in users:
            enqueue_attachments(app, user)
        return len(users)
