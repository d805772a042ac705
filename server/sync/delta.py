"""Delta catch-up: what changed in a user's Inbox and Sent Items since the last round.

Each folder's position is its SyncCursor: the deltaLink of the last finished round,
or the nextLink of the page after the last one processed. A page is processed (filed,
marked) before its link is stored, so a crash repeats at most one page, never skips
one. A token Graph no longer knows (DeltaExpired) restarts the folder from scratch,
bounded by a since-date: a day before the cursor was last stored, or DELTA_LOOKBACK
for a folder never synced.

A round also files the messages the CRM holds as `pending` (marked unsynced from the
pane), whatever their age: delta rounds bounded by a date would not see them.

Rounds run every DELTA_INTERVAL_S for every watched mailbox (`schedule_delta_round`;
every CRM user: watching.py), after a `missed` lifecycle event, when the pane opens
(`request_catch_up`, at most once a minute per user, which also subscribes a user who
has no subscriptions yet, so that the category command works within a minute of first
use), and when automatic sync is switched on (the waiting messages are filed at once).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import select

from server.crm.models import MailboxItem, Subscription, SyncCursor, User
from server.crm.types import utcnow
from server.crm.upsert import upsert
from server.db import Database
from server.graph.errors import DeltaExpired, GraphError
from server.graph.messages import MESSAGE_FIELDS
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.jobs.schedule import periodic
from server.sync.app_access import is_refused, mailbox_job
from server.sync.automatic import Outcome, process_messages
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import job_mailbox
from server.sync.watching import subscriptions_key, watched_users, watches

FOLDERS = ("inbox", "sentitems")
DELTA_LOOKBACK = timedelta(days=7)
RESTART_MARGIN = timedelta(days=1)
PAGE_SIZE = 100
PENDING_BATCH = 100
CATCH_UP_EVERY_S = 60
# Only the fields the rules look at; bodies are read for the messages that get filed.
DELTA_FIELDS = (
    "id",
    "subject",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "receivedDateTime",
    "sentDateTime",
    "internetMessageId",
    "conversationId",
    "categories",
    "parentFolderId",
)


def _save_cursor(mailbox: Mailbox, folder: str, link: str | None) -> None:
    upsert(
        mailbox.session,
        SyncCursor,
        {
            "tenant_id": mailbox.tenant_id,
            "user_id": mailbox.me.id,
            "folder": folder,
            "delta_link": link,
            "updated_at": utcnow(),
        },
        conflict=["user_id", "folder"],
        update=["delta_link", "updated_at"],
    )
    mailbox.session.commit()


def catch_up_folder(mailbox: Mailbox, folder: str, progress=None) -> Outcome:
    """One delta round over a folder (module docstring). Raises GraphError."""
    cursor = SyncCursor.for_folder(mailbox.session, mailbox.tenant_id, mailbox.me.id, folder)
    link = cursor.delta_link if cursor else None
    since = (cursor.updated_at - RESTART_MARGIN) if cursor else utcnow() - DELTA_LOOKBACK
    outcome = Outcome()
    try:
        outcome.add(_round(mailbox, folder, link, since, progress))
    except DeltaExpired:
        _save_cursor(mailbox, folder, None)
        outcome.add(_round(mailbox, folder, None, since, progress))
    return outcome


def _round(mailbox: Mailbox, folder: str, link: str | None, since, progress) -> Outcome:
    outcome = Outcome()
    pages = mailbox.graph.delta(
        folder, delta_link=link, select=DELTA_FIELDS, page_size=PAGE_SIZE, since=None if link else since, crm=True
    )
    for page in pages:
        outcome.add(process_messages(mailbox, page.messages))
        if outcome.failed:
            # Keep the cursor before this page: the job's retry repeats it.
            raise GraphError(502, "MarkFailed", "; ".join(outcome.errors[:5]))
        _save_cursor(mailbox, folder, page.delta_link or page.next_link)
        if progress:
            progress(outcome)
    return outcome


def file_pending(mailbox: Mailbox) -> Outcome:
    """The messages marked unsynced in the CRM, read in `$batch` and filed."""
    outcome = Outcome()
    last_id = 0
    while True:
        rows = mailbox.session.execute(
            select(MailboxItem.id, MailboxItem.graph_id)
            .where(
                MailboxItem.tenant_id == mailbox.tenant_id,
                MailboxItem.user_id == mailbox.me.id,
                MailboxItem.state == "pending",
                MailboxItem.id > last_id,
            )
            .order_by(MailboxItem.id)
            .limit(PENDING_BATCH)
        ).all()
        if not rows:
            return outcome
        last_id = rows[-1][0]
        fetched = mailbox.graph.get_messages([r[1] for r in rows], select=MESSAGE_FIELDS)
        messages = [m for m in fetched.values() if isinstance(m, dict)]
        outcome.add(process_messages(mailbox, messages))


def catch_up(mailbox: Mailbox, folders=FOLDERS) -> Outcome:
    """A delta round over each folder, then the CRM's pending messages."""
    outcome = Outcome()
    if not watches(mailbox):
        return outcome
    for folder in folders:
        outcome.add(catch_up_folder(mailbox, folder))
    outcome.add(file_pending(mailbox))
    return outcome


@job("delta")
@mailbox_job
def delta_job(ctx: JobContext) -> None:
    mailbox = job_mailbox(ctx)
    if mailbox is None:
        return
    folders = ctx.params.get("folders") or FOLDERS
    outcome = catch_up(mailbox, folders)
    ctx.progress(
        done=outcome.handled, failed=outcome.failed, total=outcome.handled + outcome.failed, cursor=outcome.summary()
    )


def enqueue_catch_up(app: Flask, user: User, folders=None) -> int:
    return enqueue(
        "delta",
        {"folders": list(folders) if folders else None},
        key=f"delta:{user.id}",
        tenant_id=user.tenant_id,
        user_id=user.id,
        app=app,
    )


@periodic("delta", setting="DELTA_INTERVAL_S")
def schedule_delta_round(app: Flask) -> int:
    """Queues a delta job for every watched mailbox (watching.py: every CRM user, for
    their own commands and settings); returns how many."""
    count = 0
    with Database.state(app).session_factory() as session:
        for user in watched_users(session):
            enqueue_catch_up(app, user)
            count += 1
    return count


_last_catch_up: dict[tuple, float] = {}
_catch_up_lock = threading.Lock()


def request_catch_up(user: User, app: Flask | None = None) -> bool:
    """The pane opened: queue a catch-up for this user, at most once a minute (per
    process; the job's key makes repeats across processes harmless), and their
    subscriptions when they have none yet. Every user gets it, automatic sync on or off:
    the round acts on their categories (automatic.py). Cheap: no Graph call here, one
    indexed query. Off with CATCH_UP_ON_OPEN false, and for a mailbox the organisation
    keeps the app out of (app_access.py). Returns True when queued."""
    app = app or current_app._get_current_object()
    if not app.config["CATCH_UP_ON_OPEN"] or is_refused(user):
        return False
    now = time.monotonic()
    key = (user.id, user.created_at)
    with _catch_up_lock:
        last = _last_catch_up.get(key)
        if last is not None and now - last < CATCH_UP_EVERY_S:
            return False
        if len(_last_catch_up) > 100_000:
            _last_catch_up.clear()
        _last_catch_up[key] = now
    enqueue_catch_up(app, user)
    with Database.state(app).session_factory() as session:
        has = session.scalar(select(Subscription.id).where(Subscription.user_id == user.id).limit(1))
    if has is None:
        # The first use: subscribe now, not at the hourly upkeep (subscriptions.py's job).
        enqueue("subscriptions", {}, key=subscriptions_key(user), tenant_id=user.tenant_id, user_id=user.id, app=app)
    return True
