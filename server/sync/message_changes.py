"""Change notifications, coalesced per mailbox: one job reads and marks all of a
mailbox's changed messages together in `$batch`.

A change notification names one message of one mailbox. The webhook records it as a
MessageChange row (one per mailbox and message: a message notified twice, or by a
notification Graph delivers again, is one row) and queues the mailbox's one `message`
job (key `message:{user_id}`; asked for while it runs, it runs once more after). The
job takes the changes recorded for its mailbox, CHANGES_PER_ROUND at a time, oldest
first:
1. reads their messages in `$batch` (Graph's limit: 20 per call), with body and
   attachment metadata, so filing needs no second read;
2. applies the mailbox owner's own settings, rules, links and marks to them, exactly
   as every automatic path does (`automatic.process_messages`), files what qualifies
   and marks it in `$batch`;
3. deletes the rows it handled, each only when no newer notification for that message
   came meanwhile (the row's `token` is still the one it read): a newer one is handled
   by the job's next run. A message whose read or mark failed keeps its row, and the
   job ends failed so that it is retried (the others are not read again).

So k changed messages of one mailbox cost ceil(k/20) read calls and at most ceil(k/20)
mark calls (each `$batch` part still counts towards the mailbox's Outlook budget),
where a job per message would cost two calls each.

Idempotent and crash-safe: a row goes only after its message is filed and marked. A
crash between filing (committed) and marking leaves it; the next run reads the message
again, finds the CRM's state without Outlook's mark and completes the mark
(`automatic.decide`), and filing, keyed by the message's internetMessageId, finds the
same Email.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.crm.models import MessageChange
from server.crm.types import utcnow
from server.db import Database
from server.graph.errors import GraphError
from server.graph.messages import MESSAGE_FIELDS_WITH_BODY
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.sync.app_access import mailbox_job
from server.sync.automatic import Outcome, process_messages
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import job_mailbox

CHANGES_PER_ROUND = 100  # five $batch calls of 20 to read, five to mark

# (tenant id, user id, message id)
Change = tuple[str, int, str]


def record_changes(session: Session, changes: Iterable[Change]) -> set[tuple[str, int]]:
    """Records changed messages (one row per mailbox and message; a repeat gets a new
    token) in one statement, and commits. Returns the (tenant, user) pairs to queue."""
    now = utcnow()
    rows = {
        (user_id, message_id): {
            "tenant_id": tenant_id,
            "user_id": user_id,
            "graph_id": message_id,
            "token": secrets.token_hex(16),
            "noted_at": now,
        }
        for tenant_id, user_id, message_id in changes
        if message_id
    }
    if not rows:
        return set()
    table = MessageChange.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.values(list(rows.values()))
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "graph_id"],
            set_={"token": statement.excluded.token, "noted_at": statement.excluded.noted_at},
        )
    )
    session.commit()
    return {(row["tenant_id"], row["user_id"]) for row in rows.values()}


def enqueue_mailbox(app: Flask, tenant_id: str, user_id: int) -> int:
    """Queues the mailbox's `message` job, which handles every change recorded for it."""
    return enqueue("message", {}, key=f"message:{user_id}", tenant_id=tenant_id, user_id=user_id, app=app)


def enqueue_message(app: Flask, tenant_id: str, user_id: int, message_id: str) -> int:
    """Records one changed message and queues its mailbox's job; returns the job's id."""
    with Database.state(app).session_factory() as session:
        record_changes(session, [(tenant_id, user_id, message_id)])
    return enqueue_mailbox(app, tenant_id, user_id)


def _read(mailbox: Mailbox, ids: list[str], outcome: Outcome) -> tuple[list[dict], dict[str, str]]:
    """The messages, read in `$batch` with what filing needs, and {the id Graph answered
    with: the id asked for} (a notification may name a message by another form of its
    id). A message deleted or moved away since counts as skipped, another failure as
    failed."""
    messages, asked = [], {}
    fetched = mailbox.graph.get_messages(ids, select=MESSAGE_FIELDS_WITH_BODY, expand_attachments=True)
    for message_id, message in fetched.items():
        if not isinstance(message, GraphError):
            messages.append(message)
            asked[message["id"]] = message_id
        elif message.status == 404:
            outcome.skipped += 1
        else:
            outcome.fail(message_id, message.code)
    return messages, asked


def process_changes(mailbox: Mailbox, progress=None) -> Outcome:
    """Handles every change recorded for the mailbox (module docstring). Raises
    GraphError when a whole `$batch` call fails (the job is retried)."""
    session = mailbox.session
    outcome = Outcome()
    after = 0
    while True:
        rows = session.execute(
            select(MessageChange.id, MessageChange.graph_id, MessageChange.token)
            .where(MessageChange.user_id == mailbox.me.id, MessageChange.id > after)
            .order_by(MessageChange.id)
            .limit(CHANGES_PER_ROUND)
        ).all()
        session.commit()
        if not rows:
            return outcome
        after = rows[-1].id
        ids = list(dict.fromkeys(row.graph_id for row in rows))
        this_round = Outcome()
        messages, asked = _read(mailbox, ids, this_round)
        this_round.add(process_messages(mailbox, messages, have_bodies=True))
        failed = {asked.get(message_id, message_id) for message_id in this_round.failed_ids}
        handled = [row.token for row in rows if row.graph_id not in failed]
        if handled:
            session.execute(
                delete(MessageChange).where(MessageChange.user_id == mailbox.me.id, MessageChange.token.in_(handled))
            )
            session.commit()
        outcome.add(this_round)
        if progress:
            progress(outcome)


@job("message")
@mailbox_job
def message_job(ctx: JobContext) -> None:
    """Files (or not) the changed messages of one mailbox that notifications named."""
    mailbox = job_mailbox(ctx)
    if mailbox is None:
        return
    message_id = ctx.params.get("message_id")
    if message_id:  # a job of one message, queued before changes were coalesced
        record_changes(ctx.session, [(mailbox.tenant_id, mailbox.me.id, message_id)])

    def progress(outcome: Outcome) -> None:
        ctx.progress(done=outcome.handled, total=outcome.handled + outcome.failed, failed=outcome.failed)

    outcome = process_changes(mailbox, progress)
    progress(outcome)
    if outcome.failed:
        raise RuntimeError("; ".join(outcome.errors[:10]) or "some messages could not be marked")
