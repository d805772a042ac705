"""Background jobs: webhooks' work, delta catch-up, subscription upkeep and bulk sync.

Every job is a plain, idempotent function registered here by kind (`@job("delta")`),
taking a `JobContext`. Its row in `sync_jobs` (server.crm.models.SyncJob) is the one
truth about it, whichever queue runs it: state, progress, a resumable cursor,
attempts and the last error. So the web process, the admin page and every worker see
the same progress, and a job is claimed by one runner at a time (an atomic UPDATE),
which makes a duplicate delivery of it harmless.

Two runners:
- REDIS_URL set: RQ on Redis (`rq worker --with-scheduler crm`); the RQ job only
  carries the row's id. Delayed retries use RQ's scheduler.
- REDIS_URL unset (the embedded default): JOB_WORKERS threads in this process.

A failing job is retried with exponential backoff (JOB_RETRY_BASE_S, x4 each time);
after JOB_MAX_ATTEMPTS runs that got no further (a run that progressed starts the count
again) it is `failed` and listed by `list_failed_jobs()` until
`retry_job(id)` queues it again (it resumes from its cursor). A job whose runner died
(a killed worker: heartbeat older than JOB_STALE_S) is run again by
`recover_stalled_jobs()`, which the scheduler calls.

Enqueueing with a `key` is idempotent: asking again for a queued job does nothing,
for a running job marks it to run once more when it ends, and for a finished one
queues it again.
"""
from __future__ import annotations

import heapq
import importlib
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import Flask, current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from server.crm.models import SyncJob, is_id
from server.crm.types import utcnow
from server.crm.upsert import insert_ignore
from server.db import Database

log = logging.getLogger(__name__)

QUEUE_NAME = "crm"
MAX_RETRY_DELAY_S = 900
ERROR_LIMIT = 2000
# How long finished jobs stay listed (progress bars read them for a while).
KEEP_DONE = timedelta(days=2)

JobFunction = Callable[["JobContext"], None]
JOB_FUNCTIONS: dict[str, JobFunction] = {}


def job(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Registers a job function under `kind` (its modules are imported by
    `load_job_modules`)."""
    def register(fn: JobFunction) -> JobFunction:
        JOB_FUNCTIONS[kind] = fn
        return fn
    return register


# The modules whose `@job` functions workers must know: add yours here.
JOB_MODULES = ["server.sync.automatic", "server.sync.bulk", "server.sync.delta", "server.sync.subscriptions",
               "server.sync.import_job"]


def load_job_modules() -> None:
    """Imports every JOB_MODULES entry (each registers its jobs on import)."""
    for name in JOB_MODULES:
        importlib.import_module(name)


class RetryLater(Exception):
    """Raised by a job that should run again after `delay_s` (e.g. Graph's Retry-After)."""

    def __init__(self, message: str, delay_s: float | None = None):
        super().__init__(message)
        self.delay_s = delay_s


@dataclass
class JobContext:
    """What a running job gets: the app (in its context), a session, its row."""
    app: Flask
    session: Session
    job: SyncJob

    @property
    def params(self) -> dict:
        return dict(self.job.params or {})

    def mailbox(self, user_id: int | None = None):
        """The job's user's Mailbox on app-only Graph (/users/{oid}); None when the user
        is gone. Raises ValueError for a job without a user."""
        user_id = user_id or self.job.user_id
        if user_id is None:
            raise ValueError("this job has no user")
        return background_mailbox(self.app, self.session, user_id)

    def progress(self, done: int | None = None, total: int | None = None, failed: int | None = None,
                 cursor: dict | None = None) -> None:
        """Records progress (and the resumable cursor) and proves the job alive; commits."""
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if done is not None:
            values["done"] = done
        if total is not None:
            values["total"] = total
        if failed is not None:
            values["failed"] = failed
        if cursor is not None:
            values["cursor"] = cursor
        self.session.execute(update(SyncJob).where(SyncJob.id == self.job.id).values(**values))
        self.session.commit()
        for key, value in values.items():
            setattr(self.job, key, value)


def background_mailbox(app: Flask, session: Session, user_id: int):
    """A user's Mailbox for background work: client credentials on /users/{oid}
    (needs the app context). None when the user no longer exists."""
    from server.auth import app_graph_token, trusted_session
    from server.crm.models import User
    from server.graph import GraphClient
    from server.sync.links import CrmLinks
    from server.sync.mailbox import Mailbox

    user = session.get(User, user_id)
    if user is None:
        return None
    tid = user.tenant_id
    graph = GraphClient.from_config(app.config, lambda: app_graph_token(tid), trusted_session(), user=user.oid)
    return Mailbox(session, user, graph, CrmLinks(app.config["PUBLIC_BASE_URL"]))


# -- enqueueing ---------------------------------------------------------------------

def enqueue(kind: str, params: dict | None = None, *, key: str, tenant_id: str | None = None,
            user_id: int | None = None, app: Flask | None = None, submit: bool = True) -> int:
    """Queues job `kind` under `key` (idempotent, see the module docstring); returns
    its id. A finished job asked for again starts over; a failed one resumes from its
    cursor. `submit=False` only records it (the caller runs it with `run_job`)."""
    app = app or current_app._get_current_object()
    factory = Database.state(app).session_factory
    now = utcnow()
    with factory() as session:
        created = insert_ignore(session, SyncJob, {
            "key": key, "kind": kind, "tenant_id": tenant_id, "user_id": user_id,
            "params": params or {}, "state": "queued", "requested_at": now, "cursor": {},
        }, ["key"])
        session.commit()
        row = session.scalar(select(SyncJob).where(SyncJob.key == key))
        assert row is not None
        job_id = row.id
        dispatch = created
        if not created:
            dispatch = _ask_again(session, job_id, params or {}, now)
    if dispatch and submit:
        runner_for(app).submit(job_id)
    return job_id


def _ask_again(session: Session, job_id: int, params: dict, now: datetime) -> bool:
    """An existing job asked for again. Returns True when it must be submitted.
    Each step is one conditional UPDATE; when the job changed state in between
    (it just finished), the next round sees the new state."""
    values: dict[str, Any] = {"state": "queued", "attempts": 0, "error": "", "requested_at": now,
                              "params": params, "rerun": False, "finished_at": None}
    for _ in range(5):
        state = session.scalar(select(SyncJob.state).where(SyncJob.id == job_id))
        if state in ("queued", "retrying"):
            return False
        if state == "running":
            changed = session.execute(update(SyncJob).where(
                SyncJob.id == job_id, SyncJob.state == "running").values(rerun=True)).rowcount
            session.commit()
            if changed:
                return False
            continue
        # A finished job starts over; a failed one resumes from its cursor.
        extra = {"cursor": {}, "done": 0, "failed": 0, "total": None} if state == "done" else {}
        changed = session.execute(update(SyncJob).where(
            SyncJob.id == job_id, SyncJob.state == state).values(**values, **extra)).rowcount
        session.commit()
        if changed:
            return True
    return False


def retry_job(job_id: int, *, tenant_id: str | None = None, app: Flask | None = None) -> bool:
    """Queues a failed job again (it resumes from its cursor); the admin page's retry
    button. False when there is no such failed job (in that tenant, when given)."""
    app = app or current_app._get_current_object()
    with Database.state(app).session_factory() as session:
        query = update(SyncJob).where(SyncJob.id == job_id, SyncJob.state == "failed")
        if tenant_id is not None:
            query = query.where(SyncJob.tenant_id == tenant_id)
        changed = session.execute(query.values(
            state="queued", attempts=0, error="", rerun=False, requested_at=utcnow(),
            finished_at=None)).rowcount
        session.commit()
    if changed:
        runner_for(app).submit(job_id)
    return bool(changed)


def list_failed_jobs(tenant_id: str | None = None, *, limit: int = 100,
                     app: Flask | None = None) -> list[dict]:
    """Failed jobs, newest first, as {"id", "kind", "user_id", "attempts", "error",
    "finished_at", "done", "total", "failed", "state", "eta_s"} for the admin page."""
    app = app or current_app._get_current_object()
    with Database.state(app).session_factory() as session:
        query = select(SyncJob).where(SyncJob.state == "failed")
        if tenant_id is not None:
            query = query.where(SyncJob.tenant_id == tenant_id)
        rows = session.scalars(query.order_by(SyncJob.id.desc()).limit(limit)).all()
        return [{**job_progress(row), "id": row.id, "kind": row.kind, "user_id": row.user_id,
                 "attempts": row.attempts, "error": row.error,
                 "finished_at": row.finished_at.isoformat() if row.finished_at else None}
                for row in rows]


def get_job(session: Session, job_id: int) -> SyncJob | None:
    if not is_id(job_id):
        return None   # e.g. beyond 64 bits: no row has it, and the database would refuse it
    return session.get(SyncJob, job_id, populate_existing=True)


def job_progress(row: SyncJob) -> dict:
    """{"state", "done", "total", "failed", "eta_s"}: the API's progress shape."""
    eta = None
    if row.state == "running" and row.total and row.done and row.started_at:
        elapsed = (utcnow() - row.started_at).total_seconds()
        remaining = max(0, row.total - row.done - row.failed)
        eta = round(elapsed / max(1, row.done) * remaining, 1)
    elif row.state == "done":
        eta = 0
    return {"state": row.state, "done": row.done, "total": row.total, "failed": row.failed, "eta_s": eta}


# -- running ------------------------------------------------------------------------

def retry_delay(app: Flask, attempts: int, hint: float | None = None) -> float:
    base = float(app.config["JOB_RETRY_BASE_S"])
    delay = min(MAX_RETRY_DELAY_S, base * (4 ** max(0, attempts - 1)))
    return max(delay, float(hint or 0))


def run_job(app: Flask, job_id: int) -> str | None:
    """Claims and runs one job; returns its final state (None when another runner
    has it or it is not runnable). Never raises for the job's own failure."""
    load_job_modules()
    factory = Database.state(app).session_factory
    stale = utcnow() - timedelta(seconds=int(app.config["JOB_STALE_S"]))
    with factory() as session:
        now = utcnow()
        claimed = session.execute(update(SyncJob).where(
            SyncJob.id == job_id,
            or_(SyncJob.state.in_(("queued", "retrying")),
                and_(SyncJob.state == "running", SyncJob.heartbeat_at < stale)),
        ).values(state="running", attempts=SyncJob.attempts + 1, rerun=False, heartbeat_at=now,
                 started_at=now)).rowcount
        session.commit()
        if not claimed:
            return None
        row = get_job(session, job_id)
        assert row is not None
        done_at_start = row.done or 0
        fn = JOB_FUNCTIONS.get(row.kind)
        error: BaseException | None = None
        hint = None
        with app.app_context():
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
            finished = session.execute(update(SyncJob).where(
                SyncJob.id == job_id, SyncJob.rerun.is_(False)).values(
                state="done", error="", finished_at=utcnow())).rowcount
            if not finished:
                session.execute(update(SyncJob).where(SyncJob.id == job_id).values(
                    state="queued", rerun=False, error="", requested_at=utcnow()))
            session.commit()
            if not finished:
                runner_for(app).submit(job_id)
                return "queued"
            return "done"
        message = f"{type(error).__name__}: {error}"[:ERROR_LIMIT]
        # A resumable job that got further before this failure is not failing over and
        # over (a big bulk sync is throttled once per Outlook rate window): count afresh.
        attempts = 1 if (row.done or 0) > done_at_start else row.attempts
        if attempts >= int(app.config["JOB_MAX_ATTEMPTS"]):
            session.execute(update(SyncJob).where(SyncJob.id == job_id).values(
                state="failed", error=message, finished_at=utcnow()))
            session.commit()
            return "failed"
        delay = retry_delay(app, attempts, hint)
        session.execute(update(SyncJob).where(SyncJob.id == job_id).values(
            state="retrying", error=message, attempts=attempts,
            requested_at=utcnow() + timedelta(seconds=delay)))
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
        ids = session.scalars(select(SyncJob.id).where(or_(
            and_(SyncJob.state == "running", SyncJob.heartbeat_at < stale),
            and_(SyncJob.state.in_(("queued", "retrying")), SyncJob.requested_at < stale)))).all()
        session.execute(SyncJob.__table__.delete().where(
            SyncJob.state == "done", SyncJob.finished_at < utcnow() - KEEP_DONE))
        session.commit()
    runner = runner_for(app)
    for job_id in ids:
        runner.submit(job_id)
    return len(ids)


# -- runners --------------------------------------------------------------------------

class ThreadRunner:
    """The embedded queue: JOB_WORKERS daemon threads in this process, with delays."""

    def __init__(self, app: Flask, workers: int):
        self.app = app
        self.workers = max(1, workers)
        self._heap: list[tuple[float, int, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._busy = 0

    def submit(self, job_id: int, delay: float = 0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), job_id))
            self._start()
            self._cond.notify()

    def _start(self) -> None:
        if not self._threads:
            for n in range(self.workers):
                thread = threading.Thread(target=self._work, name=f"crm-job-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        _, _, job_id = heapq.heappop(self._heap)
                        self._busy += 1
                        break
                    self._cond.wait(None if not self._heap else self._heap[0][0] - now)
            try:
                run_job(self.app, job_id)
            except Exception:  # a broken database must not kill the worker thread
                log.exception("job %s could not run", job_id)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def cancel_pending(self) -> int:
        """Drops the submissions not started yet (shutdown, tests); their rows stay,
        so `recover_stalled_jobs` submits them again later. Returns how many."""
        with self._cond:
            dropped = len(self._heap)
            self._heap.clear()
            return dropped

    def idle(self) -> bool:
        """Nothing due and nothing running (tests wait for this)."""
        with self._cond:
            now = time.monotonic()
            return self._busy == 0 and not any(when <= now for when, _, _ in self._heap)


class RqRunner:
    """RQ on Redis: the RQ job carries only the SyncJob id."""

    def __init__(self, redis_url: str):
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(QUEUE_NAME, connection=self.connection)

    def submit(self, job_id: int, delay: float = 0) -> None:
        options = dict(job_timeout=6 * 3600, result_ttl=600, failure_ttl=7 * 24 * 3600)
        if delay > 0:
            self.queue.enqueue_in(timedelta(seconds=delay), run_queued_job, job_id, **options)
        else:
            self.queue.enqueue(run_queued_job, job_id, **options)


_runners: dict[int, Any] = {}
_runners_lock = threading.Lock()


def runner_for(app: Flask):
    """The app's runner: RQ when REDIS_URL is set, else the in-process threads."""
    with _runners_lock:
        runner = _runners.get(id(app))
        if runner is None:
            redis_url = app.config.get("REDIS_URL")
            runner = RqRunner(redis_url) if redis_url else ThreadRunner(app, int(app.config["JOB_WORKERS"]))
            _runners[id(app)] = runner
        return runner


# -- the RQ worker's side ---------------------------------------------------------------

_worker_app: Flask | None = None


def worker_app() -> Flask:
    """The app an RQ worker runs jobs with (from the environment, built once)."""
    global _worker_app
    if _worker_app is None:
        from server import create_app
        _worker_app = create_app()
    return _worker_app


def run_queued_job(job_id: int) -> str | None:
    """RQ's entry point (`server.sync.jobs.run_queued_job`)."""
    return run_job(worker_app(), int(job_id))


# -- the scheduler ------------------------------------------------------------------------

def run_scheduled(task: str) -> None:
    """One periodic task, run by `rq cron server.sync.schedule` in production."""
    app = worker_app()
    with app.app_context():
        SCHEDULED[task](app)


def schedule_delta_round(app: Flask) -> int:
    from server.sync.delta import schedule_delta_round as schedule
    return schedule(app)


def schedule_subscription_upkeep(app: Flask) -> int:
    from server.sync.subscriptions import schedule_upkeep
    return schedule_upkeep(app)


SCHEDULED: dict[str, Callable[[Flask], int]] = {
    "delta": schedule_delta_round,
    "subscriptions": schedule_subscription_upkeep,
    "recover": recover_stalled_jobs,
}

SUBSCRIPTION_UPKEEP_S = 3600
RECOVER_S = 60


class EmbeddedScheduler:
    """The scheduler of the embedded setup: a daemon thread in the web process."""

    def __init__(self, app: Flask, tick_s: float = 15):
        self.app = app
        self.tick_s = tick_s
        self.intervals = {"delta": float(app.config["DELTA_INTERVAL_S"]),
                          "subscriptions": SUBSCRIPTION_UPKEEP_S, "recover": RECOVER_S}
        self.last: dict[str, float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="crm-scheduler", daemon=True)

    def start(self) -> "EmbeddedScheduler":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(30)

    def _run(self) -> None:
        while not self.stopped.is_set():
            now = time.monotonic()
            for task, interval in self.intervals.items():
                if now - self.last.get(task, -interval) >= interval:
                    self.last[task] = now
                    try:
                        with self.app.app_context():
                            SCHEDULED[task](self.app)
                    except Exception:
                        log.exception("scheduled %s failed", task)
            self.stopped.wait(self.tick_s)


def init_app(app: Flask) -> None:
    """Starts the embedded scheduler with the first request of a web process that has
    no REDIS_URL (not in CLI commands, not when SCHEDULER is off or TESTING)."""
    state = {"started": False}
    lock = threading.Lock()

    @app.before_request
    def _start_scheduler():
        if state["started"]:
            return
        with lock:
            if state["started"]:
                return
            state["started"] = True
            if app.config.get("REDIS_URL") or app.config.get("TESTING") or not app.config.get("SCHEDULER", True):
                return
            app.extensions["crm_scheduler"] = EmbeddedScheduler(app).start()
