"""The command line's job commands leave their audit entry too, as "command line":
a bulk sync of a mailbox, and a failed job queued again."""

from __future__ import annotations

from sqlalchemy import select

from server.crm import audit
from server.crm.models import SyncJob, User
from server.jobs.running import run_job
from server.sync.import_job import enqueue_import
from tests.support.arrange_contacts import seed_contoso
from tests.support.audit_entries import only_entry
from tests.support.identities import ADELE, CONTOSO
from tests.support.waiting import wait_idle


def test_cli_sync_mailbox_is_recorded_as_the_command_line_on_that_mailbox(app, crm, adele):
    seed_contoso(crm, CONTOSO)
    result = app.test_cli_runner().invoke(
        args=["crm", "sync-mailbox", "--user", ADELE, "--since", "2026-01-01", "--no-progress"]
    )
    assert result.exit_code == 0, result.output

    entry = only_entry(crm, CONTOSO, audit.BULK_SYNC_STARTED)
    job_id = crm.scalar(select(SyncJob.id).where(SyncJob.kind == "bulk"))
    assert (entry.actor_user_id, entry.actor_name, entry.client_address) == (None, "command line", None)
    assert (entry.target_type, entry.target_id) == ("job", str(job_id))
    assert entry.after == {"folder": "inbox", "since": "2026-01-01T00:00:00Z", "mailbox": ADELE}


def test_cli_retry_job_is_recorded_and_a_retry_of_nothing_is_not(app, crm, adele, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_MAX_ATTEMPTS", 1)
    user = crm.get(User, adele)
    job_id = enqueue_import(app, user, "feedfacefeedfacefeedfacefeedface.csv", "lost.csv", 10, submit=False)
    assert run_job(app, job_id) == "failed"

    runner = app.test_cli_runner()
    assert runner.invoke(args=["crm", "retry-job", str(job_id)]).exit_code == 0
    wait_idle(app)
    entry = only_entry(crm, CONTOSO, audit.JOB_RETRIED)
    assert (entry.actor_user_id, entry.actor_name, entry.target_id) == (None, "command line", str(job_id))
    assert runner.invoke(args=["crm", "retry-job", "999999"]).exit_code != 0
    only_entry(crm, CONTOSO, audit.JOB_RETRIED)
