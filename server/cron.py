"""RQ's cron configuration (`rq cron server.cron`, the Procfile's scheduler): every
periodic task the app registers, queued on the crm queue at its interval. A worker
runs it (server.worker.run_scheduled), and it queues the per-mailbox jobs."""

from __future__ import annotations

from rq import cron

from server.jobs.runners import QUEUE_NAME
from server.jobs.schedule import PERIODIC_TASKS
from server.worker import app, run_scheduled

for task in PERIODIC_TASKS.values():
    cron.register(
        run_scheduled, QUEUE_NAME, args=(task.name,), interval=int(task.interval_s(app.config)), name=task.name
    )
