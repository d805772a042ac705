"""Bulk sync: file a folder's mail received since a date, resumably, at scale.

Messages are read in pages (`Prefer: odata.maxpagesize`, `$select` of only what
filing needs, our properties and attachment metadata expanded in the same request),
oldest first, and each page is filed and then marked in `$batch` PATCHes of 20. The
page size is a multiple of 20, so the Graph calls are the pages plus ⌈n/20⌉ batches
(plus retries). Memory holds one page, whatever the mailbox's size.

After each page the job's cursor stores the receivedDateTime reached and the ids
already done at exactly that time. A killed job resumes from there (`$filter`
receivedDateTime ge that time, skipping those ids): nothing is skipped, and nothing
is filed twice (a message marked synced is left alone; the CRM's writes are upserts).
A page with failures is not passed: the job's retry repeats it.

Bulk sync files only mail with a CRM contact on it (or the user's own sharing rule,
own linked conversation, or own "Sync to CRM" / unsynced mark): internal mail and
newsletters are skipped (automatic.py). The cursor's "summary" counts each outcome
separately: filed, already filed, skipped because marked, skipped because no CRM
contact, skipped for the never-sync list, otherwise skipped, failed.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime

from flask import Flask
from sqlalchemy.orm import Session

from server.crm import audit
from server.crm.models import User
from server.graph.errors import GraphError
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.sync.app_access import mailbox_job, require_allowed
from server.sync.automatic import Outcome, mark_planned, plan_messages
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import job_mailbox

PAGE_SIZE = 100  # a multiple of the $batch size (20)
BULK_FIELDS = (
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
    "bodyPreview",
    "hasAttachments",
    "parentFolderId",
    "webLink",  # an attachment too large to store, or a OneDrive link, links to the message
    "body",
)
WELL_KNOWN_FOLDERS = ("inbox", "sentitems", "archive", "drafts", "deleteditems", "junkemail")

Report = Callable[[int, int | None, int, dict], None]


def since_iso(since: date | datetime | str) -> str:
    """A since-date as Graph's UTC timestamp literal."""
    if isinstance(since, str):
        since = datetime.fromisoformat(since.replace("Z", "+00:00")) if "T" in since else date.fromisoformat(since)
    if isinstance(since, datetime):
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{since.isoformat()}T00:00:00Z"


def bulk_sync(
    mailbox: Mailbox,
    folder: str,
    since,
    cursor: dict | None = None,
    report: Report | None = None,
    page_size: int = PAGE_SIZE,
) -> Outcome:
    """Files the folder's messages received since `since`, resuming from `cursor`
    ({"after", "seen", "done", "failed", "summary"}); `report(done, total, failed,
    cursor)` after each page. Returns the whole run's Outcome (the resumed part
    included). Raises GraphError (the job retries and resumes).

    A page's marks are written by a second thread while this one reads and files the
    next page (at most one page's marks in flight): under the mailbox's request budget
    the marks wait their turn there while the filing goes on, so the budget is spent as
    fast as it frees up. The cursor passes a page only once its marks are written."""
    cursor = dict(cursor or {})
    state = {
        "after": cursor.get("after") or since_iso(since),
        "seen": set(cursor.get("seen") or ()),
        "done": int(cursor.get("done") or 0),
        "failed": int(cursor.get("failed") or 0),
        "total": None,
        "cursor": cursor,
    }
    resumed_at = set(state["seen"])  # done before, at the time the run resumes from
    outcome = Outcome.from_summary(cursor.get("summary"))
    mailbox.graph.ensure_categories()
    pages = mailbox.graph.message_pages(
        folder,
        select=BULK_FIELDS,
        filter=f"receivedDateTime ge {state['after']}",
        order_by="receivedDateTime asc",
        page_size=page_size,
        crm=True,
        expand_attachments=True,
        count=True,
    )

    def passed(marking: Future, messages: list[dict]) -> None:
        """The page's marks are written: count it and move the cursor past it."""
        result = marking.result()
        if result.failed:
            raise GraphError(502, "MarkFailed", "; ".join(result.errors[:5]))
        outcome.add(result)
        state["done"] += result.handled
        after, seen = state["after"], state["seen"]
        if messages:
            last = messages[-1].get("receivedDateTime") or after
            at_last = {m["id"] for m in messages if m.get("receivedDateTime") == last}
            state["seen"] = (seen | at_last) if last == after else at_last
            state["after"] = last
        state["cursor"] = {
            "after": state["after"],
            "seen": sorted(state["seen"]),
            "done": state["done"],
            "failed": state["failed"],
            "summary": outcome.summary(),
        }
        if report:
            report(state["done"], state["total"], state["failed"], state["cursor"])

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-marks") as marks:
        in_flight: tuple[Future, list[dict]] | None = None
        try:
            page = next(pages, None)
            while page is not None:
                if state["total"] is None and page.count is not None:
                    state["total"] = state["done"] + state["failed"] + max(0, int(page.count) - len(state["seen"]))
                fresh = [m for m in page.messages if m["id"] not in resumed_at]
                planned = plan_messages(mailbox, fresh, "all", True)
                # The next page is read before this one's marks start: once they do, they
                # take every unit of the budget that frees up until they are all written.
                following = next(pages, None)
                if in_flight is not None:
                    passed(*in_flight)
                    in_flight = None
                # The marking thread runs in this context: the app, and background work.
                marking = marks.submit(contextvars.copy_context().run, mark_planned, mailbox.graph, planned)
                in_flight = (marking, page.messages)
                page = following
            if in_flight is not None:
                passed(*in_flight)
                in_flight = None
        finally:
            if in_flight is not None:  # a later page failed: keep what this one got done
                with contextlib.suppress(Exception):
                    passed(*in_flight)
    cursor = {**state["cursor"], "done": state["done"], "failed": state["failed"], "summary": outcome.summary()}
    if report:
        report(state["done"], state["done"] + state["failed"], state["failed"], cursor)
    return outcome


def bulk_key(user: User, folder: str, since: str) -> str:
    return f"bulk:{user.id}:{folder}:{since}"


def enqueue_bulk(app: Flask, user: User, folder: str, since, submit: bool = True, by: audit.Actor | None = None) -> int:
    """Queues a bulk sync (the same request twice is one job); returns the job id.
    The request is recorded in the audit log with the job, as asked by `by` (default:
    the mailbox's owner). Raises AutomaticSyncNotAllowed for a mailbox the organisation
    keeps the app out of."""
    require_allowed(user)
    since = since_iso(since)
    actor = by or audit.Actor.of(user)

    def record(session: Session, job_id: int) -> None:
        audit.record(
            session,
            user.tenant_id,
            actor,
            audit.BULK_SYNC_STARTED,
            target=("job", job_id),
            after={"folder": folder, "since": since, "mailbox": user.upn},
        )

    return enqueue(
        "bulk",
        {"folder": folder, "since": since},
        key=bulk_key(user, folder, since),
        tenant_id=user.tenant_id,
        user_id=user.id,
        app=app,
        submit=submit,
        also=record,
    )


@job("bulk")
@mailbox_job
def bulk_job(ctx: JobContext) -> None:
    mailbox = job_mailbox(ctx)
    if mailbox is None:
        return
    params = ctx.params

    def report(done: int, total: int | None, failed: int, cursor: dict) -> None:
        ctx.progress(done=done, total=total, failed=failed, cursor=cursor)

    bulk_sync(mailbox, params["folder"], params["since"], dict(ctx.job.cursor or {}), report)
