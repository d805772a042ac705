"""The periodic jobs for RQ's cron scheduler: `rq cron server.sync.schedule`.

Each entry queues `run_scheduled(task)` on the crm queue; a worker runs it, and it
queues the per-mailbox jobs (whose keys make a repeat harmless). The embedded setup
runs the same tasks from a thread (server.sync.jobs.EmbeddedScheduler).
"""
from __future__ import annotations

from rq import cron

from server.config import read_env
from server.sync.jobs import QUEUE_NAME, RECOVER_S, SUBSCRIPTION_UPKEEP_S, run_scheduled

DELTA_INTERVAL_S = read_env()["DELTA_INTERVAL_S"]

cron.register(run_scheduled, QUEUE_NAME, args=("delta",), interval=DELTA_INTERVAL_S, name="delta")
cron.register(run_scheduled, QUEUE_NAME, args=("subscriptions",), interval=SUBSCRIPTION_UPKEEP_S,
              name="subscriptions")
cron.register(run_scheduled, QUEUE_NAME, args=("recover",), interval=RECOVER_S, name="recover")
