"""The RQ worker's entry point: the app, built once per worker process from the
environment, and the functions RQ runs (`server.worker.run_queued_job`, queued by
server.jobs.runners, and `server.worker.run_scheduled`, queued by `rq cron server.cron`).
Nothing in server/ imports this module: it is where a worker process starts."""

from __future__ import annotations

from server import create_app
from server.jobs.running import run_job
from server.jobs.schedule import run_periodic

app = create_app()


def run_queued_job(job_id: int) -> str | None:
    """Runs one job by its SyncJob id."""
    return run_job(app, int(job_id))


def run_scheduled(task: str) -> None:
    """Runs one periodic task (server.jobs.schedule) by name."""
    run_periodic(app, task)
