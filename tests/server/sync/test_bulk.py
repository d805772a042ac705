"""Bulk sync of 2,000 messages on a real Redis with real `rq worker` processes:
Graph calls, throttling, and a worker killed halfway."""

from __future__ import annotations

import gc
import math
import time
import tracemalloc

import pytest
from sqlalchemy import func, select

from server.crm.models import Email, MailboxItem, SyncJob, User
from server.db import session_scope
from server.jobs.running import recover_stalled_jobs
from server.sync.bulk import PAGE_SIZE, bulk_sync, enqueue_bulk
from server.sync.mailbox_factory import app_only_mailbox
from tests.support.bulk_mailbox import COUNT, SINCE, customers_in_crm, deliver_many, graph_calls
from tests.support.waiting import wait_for


def job_row(app, job_id: int) -> SyncJob:
    with session_scope(app) as session:
        row = session.get(SyncJob, job_id)
        session.expunge(row)
        return row


def finished(app, job_id: int, timeout: float = 240) -> SyncJob:
    return wait_for(
        lambda: (lambda r: r if r.state in ("done", "failed") else None)(job_row(app, job_id)),
        timeout,
        0.25,
        "the bulk job",
    )


def filed_bulk_emails(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(Email).where(Email.subject.like("Bulk %")))


def start_bulk(app, user_id: int) -> int:
    with session_scope(app) as session:
        user = session.get(User, user_id)
        return enqueue_bulk(app, user, "inbox", SINCE)


@pytest.mark.redis
def test_bulk_sync_files_2000_messages_in_pages_and_batches_of_20(redis_app, rq_workers, emulator, adele):
    customers_in_crm(redis_app)
    deliver_many(emulator)
    rq_workers.start()
    emulator.clear_requests()

    row = finished(redis_app, start_bulk(redis_app, adele))

    assert row.state == "done", row.error
    assert (row.done, row.total, row.failed) == (COUNT, COUNT, 0)
    assert filed_bulk_emails(redis_app) == COUNT
    pages, batches, throttled, patches = graph_calls(emulator)
    assert len(pages) == math.ceil(COUNT / PAGE_SIZE)
    assert len(batches) <= len(pages) + math.ceil(COUNT / 20) + len(throttled)
    assert len({p["path"] for p in patches}) == COUNT


@pytest.mark.redis
def test_throttled_and_killed_bulk_sync_resumes_and_files_each_message_once(redis_app, rq_workers, emulator, adele):
    customers_in_crm(redis_app)
    deliver_many(emulator)
    emulator.fault(path=r"^/v1\.0/(users|\$batch)", kind="429", retry_after=0, probability=0.1)
    worker = rq_workers.start()
    emulator.clear_requests()
    job_id = start_bulk(redis_app, adele)

    wait_for(lambda: job_row(redis_app, job_id).done >= COUNT // 2, 240, 0.05, "half of the messages")
    rq_workers.kill(worker)
    stopped_at = job_row(redis_app, job_id).done
    assert stopped_at < COUNT
    rq_workers.start()
    time.sleep(redis_app.config["JOB_STALE_S"] + 0.5)
    assert recover_stalled_jobs(redis_app) == 1  # the scheduler's minutely call

    row = finished(redis_app, job_id)
    emulator.clear_faults()
    assert row.state == "done", row.error
    assert row.done == COUNT and row.failed == 0
    assert filed_bulk_emails(redis_app) == COUNT
    with session_scope(redis_app) as session:
        items = session.scalar(select(func.count(MailboxItem.id)).where(MailboxItem.state == "synced"))
        assert items == COUNT
    pages, batches, throttled, patches = graph_calls(emulator)
    assert throttled, "the fault injected throttling"
    # Each message marked once, apart from the page in flight when the worker died.
    marked = [p["path"] for p in patches]
    assert len(set(marked)) == COUNT
    assert len(marked) - COUNT <= PAGE_SIZE
    assert len(batches) <= len(pages) + math.ceil(COUNT / 20) + PAGE_SIZE // 20 + len(throttled)


def test_bulk_sync_memory_stays_flat_as_the_folder_grows(app, emulator, adele):
    customers_in_crm(app)
    deliver_many(emulator, 600)
    used = {}

    def report(done, total, failed, cursor):
        if done in (200, 600):
            gc.collect()
            used[done] = tracemalloc.get_traced_memory()[0]

    with app.app_context(), session_scope(app) as session:
        mailbox = app_only_mailbox(app, session, adele)
        tracemalloc.start()
        try:
            bulk_sync(mailbox, "inbox", SINCE, report=report)
        finally:
            tracemalloc.stop()
    assert filed_bulk_emails(app) == 600
    # 400 more messages (each well over 1 KiB as Graph JSON) leave almost nothing behind.
    assert used[600] - used[200] < 256 * 1024, used
