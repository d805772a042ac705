"""The `flask --app server ...` commands: `db` (migrations) and `crm` (contacts in
and out, mailbox sync, failed jobs, ending a person's page sessions). `register_cli(app)` adds them to an app."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

from server.cli import crm, database, jobs, sessions, sync


def register_cli(app: Flask) -> None:
    """Adds the command groups to `app.cli`."""
    app.cli.add_command(database.db_cli)
    crm_cli = AppGroup(
        "crm", help="CRM data and background work: contacts in and out, mailbox sync, jobs, page sessions."
    )
    for command in (
        crm.import_command,
        crm.export_command,
        sync.sync_mailbox,
        jobs.failed_jobs,
        jobs.retry_job_command,
        sessions.end_sessions_command,
    ):
        crm_cli.add_command(command)
    app.cli.add_command(crm_cli)
