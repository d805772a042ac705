"""Running one job: claim it, call its function, and record done, retry or failure;
and the runner each app submits jobs to."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, or_, select, update

from server.crm.models import SyncJob
from server.crm.types import utcnow
from server.db import Database
from server.jobs.registry import JOB_FUNCTIONS, FailNow, JobContext
from server.jobs.runners import RqRunner, ThreadRunner
from server.jobs.status import get_job
from server.workload import background

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 900
ERROR_LIMIT = 2000
# How long finished jobs stay listed (progress bars read them for a while).
KEEP_DONE = timedelta(days=2)


def retry_delay(app: Flask, attempts: int, hint: float | None = None) -> float:
    base = float(app.config["JOB_RETRY_BASE_S"])
    delay = min(MAX_RETRY_DELAY_S, base * (4 ** max(0, attempts - 1)))
    return max(delay, float(hint or 0))


def run_job(app: Flask, job_id: int) -> str | None:
    """Claims and runs one job; returns its final state (None when another runner
    has it or it is not runnable). Never raises for the job's own failure."""
    factory = Database.state(app).session_factory
    stale = utcnow() - timedelta(seconds=int(app.config["JOB_STALE_S"]))
    with factory() as session:
        now = utcnow()
        claimed = session.execute(
            update(SyncJob)
            .where(
                SyncJob.id == job_id,
                or_(
                    SyncJob.state.in_(("queued", "retrying")),
                    and_(SyncJob.state == "running", SyncJob.heartbeat_at < stale),
                ),
            )
            .values(state="running", attempts=SyncJob.attempts + 1, rerun=False, heartbeat_at=now, started_at=now)
        ).rowcount
        session.commit()
        if not claimed:
            return None
        row = get_job(session, job_id)
        assert row is not None
        done_at_start = row.done or 0
        fn = JOB_FUNCTIONS.get(row.kind)
        error: BaseException | None = None
        hint = None
        # Every job is background work: it leaves a share of each mailbox's Graph budget
        # and slots to the pane (server/workload.py).
        with app.app_context(), background():
            try:
                if fn is None:
                    raise LookupError(f"no job function for kind {row.kind!r}")
                fn(JobContext(app, session, row))
            except Exception as exc:  # the job's failure is recorded, never lost
                session.rollback()
                error = exc
                hint = getattr(exc, "delay_s", None) or getattr(exc, "retry_after", None)
                log.warning("job %s (%s) attempt %s failed: %r", job_id, row.kind, row.attempts, exc)
        row = get_job(session, job_id)
        if row is None:
            return None
        if error is None:
            # Done, unless someone asked for it again meanwhile (`rerun`): then once more.
            finished = session.execute(
                update(SyncJob)
                .where(SyncJob.id == job_id, SyncJob.rerun.is_(False))
                .values(state="done", error="", finished_at=utcnow())
            ).rowcount
            if not finished:
                session.execute(
                    update(SyncJob)
                    .where(SyncJob.id == job_id)
                    .values(state="queued", rerun=False, error="", requested_at=utcnow())
                )
            session.commit()
            if not finished:
                runner_for(app).submit(job_id)
                return "queued"
            return "done"
        message = f"{type(error).__name__}: {error}"[:ERROR_LIMIT]
        # A resumable job that got further before this failure is not failing over and
        # over (a big bulk sync is throttled once per Outlook rate window): count afresh.
        attempts = 1 if (row.done or 0) > done_at_start else row.attempts
        if attempts >= int(app.config["JOB_MAX_ATTEMPTS"]) or isinstance(error, FailNow):
            session.execute(
                update(SyncJob).where(SyncJob.id == job_id).values(state="failed", error=message, finished_at=utcnow())
            )
            session.commit()
            return "failed"
        delay = retry_delay(app, attempts, hint)
        session.execute(
            update(SyncJob)
            .where(SyncJob.id == job_id)
            .values(
                state="retrying", error=message, attempts=attempts, requested_at=utcnow() + timedelta(seconds=delay)
            )
        )
        session.commit()
        runner_for(app).submit(job_id, delay)
        return "retrying"


def recover_stalled_jobs(app: Flask | None = None) -> int:
    """Submits again the jobs no runner holds: running ones whose heartbeat stopped
    (killed worker) and queued ones long overdue (a restarted in-process queue lost
    them). Returns how many. Harmless when they are in fact alive: a claim decides."""
    app = app or current_app._get_current_object()
    stale = utcnow() - timedelta(seconds=int(app.config["JOB_STALE_S"]))
    with Database.state(app).session_factory() as session:
        ids = session.scalars(
            select(SyncJob.id).where(
                or_(
                    and_(SyncJob.state == "running", SyncJob.heartbeat_at < stale),
                    and_(SyncJob.state.in_(("queued", "retrying")), SyncJob.requested_at < stale),
                )
            )
        ).all()
        session.execute(
            SyncJob.__table__.delete().where(SyncJob.state == "done", SyncJob.finished_at < utcnow() - KEEP_DONE)
        )
        session.commit()
    runner = runner_for(app)
    for job_id in ids:
        runner.submit(job_id)
    return len(ids)


_runners: dict[int, Any] = {}
_runners_lock = threading.Lock()


def runner_for(app: Flask):
    """The app's runner: RQ when REDIS_URL is set, else the in-process threads."""
    with _runners_lock:
        runner = _runners.get(id(app))
        if runner is None:
            redis_url = app.config.get("REDIS_URL")
            runner = RqRunner(redis_url) if redis_url else ThreadRunner(app, int(app.config["JOB_WORKERS"]), run_job)
            _runners[id(app)] = runner
        return runner
