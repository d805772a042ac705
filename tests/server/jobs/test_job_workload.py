"""Every job runs as background work (server/workload.py), wherever it runs, so the Graph
pacer keeps the interactive reserve of each mailbox's budget and slots from it; outside
a job, work is interactive."""

from __future__ import annotations

from server.crm.models import SyncJob
from server.db import session_scope
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.workload import is_background
from tests.support.waiting import wait_for


@job("test_workload")
def workload_job(ctx: JobContext) -> None:
    ctx.progress(done=1 if is_background() else 0, total=1)


def test_a_job_runs_as_background_work(app, clean_state):
    assert not is_background()
    job_id = enqueue("test_workload", {}, key="test:workload", app=app)

    def ended():
        with session_scope(app) as session:
            row = session.get(SyncJob, job_id)
            return (row.state, row.done) if row.state in ("done", "failed") else None

    assert wait_for(ended, 60, 0.1, "the job to end") == ("done", 1)
    assert not is_background()
