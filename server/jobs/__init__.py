"""Background jobs: a registry of job kinds, a queue, two runners and a scheduler.

Every job is a plain, idempotent function registered by kind where it is defined
(`@job("delta")`, server.jobs.registry), taking a `JobContext`. Its row in
`sync_jobs` (SyncJob) is the one truth about it, whichever runner runs it: state,
progress, a resumable cursor, attempts and the last error. So the web process, the
admin page and every worker see the same progress, and a job is claimed by one
runner at a time (an atomic UPDATE), which makes a duplicate delivery of it harmless.

Two runners (server.jobs.runners):
- REDIS_URL set: RQ on Redis (`rq worker --with-scheduler crm`); the RQ job only
  carries the row's id and runs in server.worker. Delayed retries use RQ's scheduler.
- REDIS_URL unset (the embedded default): JOB_WORKERS threads in this process.

A failing job is retried with exponential backoff (JOB_RETRY_BASE_S, x4 each time);
after JOB_MAX_ATTEMPTS runs that got no further (a run that progressed starts the count
again) it is `failed` and listed by `list_failed_jobs()` until `retry_job(id)` queues
it again (it resumes from its cursor). A job whose runner died (a killed worker:
heartbeat older than JOB_STALE_S) is run again by `recover_stalled_jobs()`, a periodic
task of server.jobs.schedule.

Enqueueing with a `key` is idempotent (server.jobs.queue): asking again for a queued
job does nothing, for a running job marks it to run once more when it ends, and for a
finished one queues it again.

The package knows nothing of what the jobs do: the modules that define job kinds and
periodic tasks import it, never the other way round.
"""
