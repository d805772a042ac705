"""A long resumable job throttled again and again (a big mailbox's bulk sync meets
Outlook's rate window many times) is not a failing job as long as each run gets further."""

from __future__ import annotations

from server.crm.models import SyncJob
from server.db import session_scope
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, RetryLater, job
from tests.support.waiting import wait_for

RUNS_BEFORE_DONE = 8  # more than JOB_MAX_ATTEMPTS (5)


@job("test_progressing")
def progressing_job(ctx: JobContext) -> None:
    done = (ctx.job.done or 0) + 1
    ctx.progress(done=done, total=RUNS_BEFORE_DONE)
    if done < RUNS_BEFORE_DONE:
        raise RetryLater("throttled: the mailbox's rate window is full", delay_s=0)


@job("test_stuck")
def stuck_job(ctx: JobContext) -> None:
    ctx.progress()  # alive, but no further
    raise RetryLater("throttled on the same page", delay_s=0)


def state(app, job_id: int) -> SyncJob:
    with session_scope(app) as session:
        row = session.get(SyncJob, job_id)
        session.expunge(row)
        return row


def test_a_job_that_progresses_between_failures_is_retried_until_done(app, clean_state):
    job_id = enqueue("test_progressing", {}, key="test:progressing", app=app)
    row = wait_for(
        lambda: (lambda r: r if r.state in ("done", "failed") else None)(state(app, job_id)), 60, 0.1, "the job to end"
    )
    assert (row.state, row.done) == ("done", RUNS_BEFORE_DONE), row.error


def test_a_job_that_fails_without_progress_still_lands_in_the_failed_list(app, clean_state, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_RETRY_BASE_S", 0.01)
    job_id = enqueue("test_stuck", {}, key="test:stuck", app=app)
    row = wait_for(
        lambda: (lambda r: r if r.state in ("done", "failed") else None)(state(app, job_id)), 60, 0.1, "the job to end"
    )
    assert row.state == "failed" and row.attempts == app.config["JOB_MAX_ATTEMPTS"]
