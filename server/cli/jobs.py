"""`flask --app server crm failed-jobs|retry-job`: the background jobs that kept failing."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.crm import audit
from server.crm.models import SyncJob
from server.jobs.queue import retry_job
from server.jobs.status import list_failed_jobs


@click.command("failed-jobs")
@with_appcontext
def failed_jobs() -> None:
    """List background jobs that kept failing."""
    rows = list_failed_jobs()
    for row in rows:
        click.echo(f"{row['id']}\t{row['kind']}\tuser {row['user_id']}\t{row['attempts']} attempts\t{row['error']}")
    click.echo(f"{len(rows)} failed jobs.")


@click.command("retry-job")
@with_appcontext
@click.argument("job_id", type=int)
def retry_job_command(job_id: int) -> None:
    """Queue a failed job again (it resumes where it stopped)."""
    if not retry_job(job_id, also=_record_retry):
        raise click.ClickException(f"No failed job {job_id}.")
    click.echo(f"Job {job_id} queued again.")


def _record_retry(session: Session, job_id: int) -> None:
    tenant_id = session.scalar(select(SyncJob.tenant_id).where(SyncJob.id == job_id))
    if tenant_id is not None:  # a job of the whole deployment has no tenant's log
        audit.record(session, tenant_id, audit.COMMAND_LINE, audit.JOB_RETRIED, target=("job", job_id))
