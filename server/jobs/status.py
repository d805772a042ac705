"""Reading jobs' rows: one job, its progress in the API's shape, and the failed ones."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.crm.models import SyncJob, is_id
from server.crm.types import utcnow
from server.db import Database


def get_job(session: Session, job_id: int) -> SyncJob | None:
    if not is_id(job_id):
        return None  # e.g. beyond 64 bits: no row has it, and the database would refuse it
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


def list_failed_jobs(tenant_id: str | None = None, *, limit: int = 100, app: Flask | None = None) -> list[dict]:
    """Failed jobs, newest first, as {"id", "kind", "user_id", "attempts", "error",
    "finished_at", "done", "total", "failed", "state", "eta_s"} for the admin page."""
    app = app or current_app._get_current_object()
    with Database.state(app).session_factory() as session:
        query = select(SyncJob).where(SyncJob.state == "failed")
        if tenant_id is not None:
            query = query.where(SyncJob.tenant_id == tenant_id)
        rows = session.scalars(query.order_by(SyncJob.id.desc()).limit(limit)).all()
        return [
            {
                **job_progress(row),
                "id": row.id,
                "kind": row.kind,
                "user_id": row.user_id,
                "attempts": row.attempts,
                "error": row.error,
                "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            }
            for row in rows
        ]
