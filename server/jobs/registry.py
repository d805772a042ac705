"""The job kinds a runner knows, and what a running job is handed (`JobContext`).

A module registers its job functions with `@job(kind)` when it is imported. The app
factory imports every module that defines one (through the routes and pages that queue
them), so any process that has built the app, web or worker, knows every kind. The
kind is stored in each job's row: never rename one that may still be queued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from server.crm.models import SyncJob
from server.crm.types import utcnow

JobFunction = Callable[["JobContext"], None]
JOB_FUNCTIONS: dict[str, JobFunction] = {}


def job(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Registers a job function under `kind`."""

    def register(fn: JobFunction) -> JobFunction:
        JOB_FUNCTIONS[kind] = fn
        return fn

    return register


class RetryLater(Exception):
    """Raised by a job that should run again after `delay_s` (e.g. Graph's Retry-After)."""

    def __init__(self, message: str, delay_s: float | None = None):
        super().__init__(message)
        self.delay_s = delay_s


class FailNow(Exception):
    """Raised by a job that running again cannot help (e.g. an import of a file that
    is not UTF-8): the job fails at once, without retries. Its message is one plain
    sentence for the admin: why, and what to do instead."""


@dataclass
class JobContext:
    """What a running job gets: the app (in its context), a session, its row."""

    app: Flask
    session: Session
    job: SyncJob

    @property
    def params(self) -> dict:
        return dict(self.job.params or {})

    def progress(
        self, done: int | None = None, total: int | None = None, failed: int | None = None, cursor: dict | None = None
    ) -> None:
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
