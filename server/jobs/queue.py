"""Queueing jobs: `enqueue` (idempotent by key) and `retry_job` for a failed one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.crm.models import SyncJob
from server.crm.types import utcnow
from server.crm.upsert import insert_ignore
from server.db import Database
from server.jobs.running import runner_for


def enqueue(
    kind: str,
    params: dict | None = None,
    *,
    key: str,
    tenant_id: str | None = None,
    user_id: int | None = None,
    app: Flask | None = None,
    submit: bool = True,
    also: Callable[[Session, int], None] | None = None,
) -> int:
    """Queues job `kind` under `key` (idempotent, see server.jobs); returns its id.
    A finished job asked for again starts over; a failed one resumes from its
    cursor. `submit=False` only records it (the caller runs it with `run_job`).
    `also(session, job_id)` writes what goes with the request (an audit entry) in the
    transaction that queues the job."""
    app = app or current_app._get_current_object()
    factory = Database.state(app).session_factory
    now = utcnow()
    with factory() as session:
        created = insert_ignore(
            session,
            SyncJob,
            {
                "key": key,
                "kind": kind,
                "tenant_id": tenant_id,
                "user_id": user_id,
                "params": params or {},
                "state": "queued",
                "requested_at": now,
                "cursor": {},
            },
            ["key"],
        )
        row = session.scalar(select(SyncJob).where(SyncJob.key == key))
        assert row is not None
        job_id = row.id
        if also is not None:
            also(session, job_id)
        session.commit()
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
    values: dict[str, Any] = {
        "state": "queued",
        "attempts": 0,
        "error": "",
        "requested_at": now,
        "params": params,
        "rerun": False,
        "finished_at": None,
    }
    for _ in range(5):
        state = session.scalar(select(SyncJob.state).where(SyncJob.id == job_id))
        if state in ("queued", "retrying"):
            return False
        if state == "running":
            changed = session.execute(
                update(SyncJob).where(SyncJob.id == job_id, SyncJob.state == "running").values(rerun=True)
            ).rowcount
            session.commit()
            if changed:
                return False
            continue
        # A finished job starts over; a failed one resumes from its cursor.
        extra = {"cursor": {}, "done": 0, "failed": 0, "total": None} if state == "done" else {}
        changed = session.execute(
            update(SyncJob).where(SyncJob.id == job_id, SyncJob.state == state).values(**values, **extra)
        ).rowcount
        session.commit()
        if changed:
            return True
    return False


def retry_job(
    job_id: int,
    *,
    tenant_id: str | None = None,
    app: Flask | None = None,
    also: Callable[[Session, int], None] | None = None,
) -> bool:
    """Queues a failed job again (it resumes from its cursor); the admin page's retry
    button. False when there is no such failed job (in that tenant, when given).
    `also(session, job_id)` is written in the same transaction when the job is retried."""
    app = app or current_app._get_current_object()
    with Database.state(app).session_factory() as session:
        query = update(SyncJob).where(SyncJob.id == job_id, SyncJob.state == "failed")
        if tenant_id is not None:
            query = query.where(SyncJob.tenant_id == tenant_id)
        changed = session.execute(
            query.values(state="queued", attempts=0, error="", rerun=False, requested_at=utcnow(), finished_at=None)
        ).rowcount
        if changed and also is not None:
            also(session, job_id)
        session.commit()
    if changed:
        runner_for(app).submit(job_id)
    return bool(changed)
