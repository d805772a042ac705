"""Waiting for the live backend: a condition to hold, or every job and notification to finish."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from server.crm.models import SyncJob
from server.db import session_scope
from server.jobs.running import runner_for


def wait_for(predicate, timeout: float = 20, interval: float = 0.1, what: str = "condition"):
    """Polls until predicate() is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def jobs_idle(app) -> bool:
    """No job queued or running (the in-process queue, and the table)."""
    with session_scope(app) as session:
        busy = session.scalar(
            select(func.count()).select_from(SyncJob).where(SyncJob.state.in_(("queued", "running", "retrying")))
        )
    runner = runner_for(app)
    return busy == 0 and (not hasattr(runner, "idle") or runner.idle())


def wait_idle(app, emulator=None, timeout: float = 30) -> None:
    """Notifications delivered and every job finished."""
    time.sleep(0.2)
    wait_for(lambda: jobs_idle(app), timeout, what="jobs to finish")
