"""The job queue: retries into the failed list and back, duplicates, the CLI, the
RQ scheduler's configuration, and webhooks on real RQ workers."""

from __future__ import annotations

import threading

import pytest
from rq.cron import CronScheduler
from sqlalchemy import func, select

from server.crm.models import Email, SyncJob, User
from server.db import session_scope
from server.jobs.queue import enqueue, retry_job
from server.jobs.registry import job
from server.jobs.schedule import EmbeddedScheduler
from server.jobs.status import list_failed_jobs
from server.sync.bulk import enqueue_bulk
from tests.support.arrange_contacts import add_contact, seed_contoso
from tests.support.arrange_records import set_settings
from tests.support.auto_sync import subscriptions
from tests.support.backend import Pane
from tests.support.emulated_messages import find_message, new_message, outlook_state
from tests.support.identities import ADELE, CONTOSO, MEGAN
from tests.support.waiting import wait_for, wait_idle


def job_state(app, job_id: int) -> str:
    with session_scope(app) as session:
        return session.get(SyncJob, job_id).state


def test_job_that_keeps_failing_lands_in_the_failed_list_and_retry_resumes_it(app, emulator, crm, adele, monkeypatch):
    seed_contoso(crm, CONTOSO)  # bulk sync files mail with a CRM contact on it
    monkeypatch.setitem(app.config, "JOB_MAX_ATTEMPTS", 2)
    # Graph refuses the token on every attempt the job gets (each attempt repeats the
    # request once with a fresh token: 2 x 2 refusals), then recovers.
    emulator.fault(path=r"/mailFolders/inbox/messages$", kind="expired_token", count=4)
    with session_scope(app) as session:
        job_id = enqueue_bulk(app, session.get(User, adele), "inbox", "2026-01-01")

    wait_for(lambda: job_state(app, job_id) == "failed", 30, what="the job to fail")
    with app.app_context():
        failed = list_failed_jobs(CONTOSO)
    assert [(f["id"], f["kind"], f["attempts"]) for f in failed] == [(job_id, "bulk", 2)]
    assert failed[0]["error"] and failed[0]["state"] == "failed"
    assert list_failed_jobs("another-tenant", app=app) == []
    assert retry_job(job_id, tenant_id="another-tenant", app=app) is False

    assert retry_job(job_id, tenant_id=CONTOSO, app=app) is True
    wait_for(lambda: job_state(app, job_id) == "done", 30, what="the retried job")
    assert list_failed_jobs(app=app) == []
    with session_scope(app) as session:
        # The inbox's 12 but the internal note and the one without a From address.
        assert session.scalar(select(func.count()).select_from(Email)) == 10


def test_the_same_bulk_request_twice_is_one_job(pane, app, emulator, adele):
    first = pane().post("/bulk-sync", json={"folder": "sentitems", "since": "2026-01-01"})
    second = pane().post("/bulk-sync", json={"folder": "sentitems", "since": "2026-01-01"})
    assert first.status_code == second.status_code == 202
    assert first.json["job_id"] == second.json["job_id"]
    wait_for(lambda: pane().get(f"/jobs/{first.json['job_id']}").json["state"] == "done", what="bulk")
    progress = pane().get(f"/jobs/{first.json['job_id']}").json
    assert {k: progress[k] for k in ("state", "done", "total", "failed", "eta_s")} == {
        "state": "done",
        "done": 2,
        "total": 2,
        "failed": 0,
        "eta_s": 0,
    }
    wait_idle(app)


def test_progress_of_another_users_job_is_404(pane, app, adele):
    job_id = pane().post("/bulk-sync", json={"folder": "sentitems", "since": "2026-01-01"}).json["job_id"]
    assert pane(MEGAN).get(f"/jobs/{job_id}").status_code == 404
    assert pane().get("/jobs/999999").status_code == 404
    assert pane().post("/bulk-sync", json={"folder": "inbox", "since": "2999-01-01"}).status_code == 400
    assert pane().post("/bulk-sync", json={"folder": "../x", "since": "2026-01-01"}).status_code == 400
    wait_idle(app)


def test_cli_sync_mailbox_files_the_folder_and_prints_a_summary(app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)  # bulk sync files mail with a CRM contact on it
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "sync-mailbox",
            "--user",
            ADELE.upper(),
            "--folder",
            "inbox",
            "--since",
            "2026-01-01",
            "--no-progress",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "done; 12 done of 12, 0 failed" in result.output
    assert "Filed 10, already filed 0, skipped because marked 0, skipped because no CRM contact 2" in result.output
    message = find_message(emulator, ADELE, "Plain: order confirmation from Northwind")
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"

    unknown = app.test_cli_runner().invoke(
        args=["crm", "sync-mailbox", "--user", "nobody@contoso.com", "--since", "2026-01-01"]
    )
    assert unknown.exit_code != 0 and "--tenant" in unknown.output


def test_cli_sync_mailbox_takes_a_new_user_by_object_id(app, emulator, clean_state):
    megan_oid = emulator.user(MEGAN)["oid"]
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "sync-mailbox",
            "--user",
            megan_oid,
            "--tenant",
            CONTOSO,
            "--folder",
            "sentitems",
            "--since",
            "2026-01-01",
            "--progress",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "1 done of 1" in result.output
    # Without User.Read.All a UPN the CRM has not met cannot be resolved: say what to do.
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "sync-mailbox",
            "--user",
            "pat.kowalski@fabrikam.com",
            "--tenant",
            "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90",
            "--since",
            "2026-01-01",
            "--no-progress",
        ]
    )
    assert result.exit_code != 0 and "object id" in result.output


def test_rq_cron_configuration_registers_the_periodic_jobs():
    class Offline:  # the configuration is only read here, never run
        pass

    scheduler = CronScheduler.__new__(CronScheduler)
    scheduler._cron_jobs = []
    scheduler.log = __import__("logging").getLogger("test")
    registered = []
    scheduler.register = lambda **data: registered.append(data)
    scheduler.load_config_from_file("server.cron")
    assert {(d["name"], d["args"], d["interval"]) for d in registered} == {
        ("delta", ("delta",), 600),
        ("subscriptions", ("subscriptions",), 3600),
        ("recover", ("recover",), 60),
        ("attachments", ("attachments",), 300),
        # the re-check of mailboxes the organisation kept the app out of (each one daily)
        ("app_access", ("app_access",), 3600),
    }
    assert all(d["queue_name"] == "crm" for d in registered)


@pytest.mark.redis
def test_webhook_on_rq_workers_files_a_known_contacts_message(redis_app, rq_workers, emulator, crm, adele):
    add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example")
    rq_workers.start()
    pane = Pane(redis_app.test_client(), emulator, ADELE)
    assert pane.put("/settings/me", json={"auto_sync": "known_contacts"}).status_code == 200
    wait_for(lambda: len(subscriptions(redis_app)) == 2, 30, what="subscriptions made by the worker")
    wait_idle(redis_app)  # and the catch-up round that switching automatic sync on queues
    emulator.clear_requests()

    emulator.deliver(ADELE, new_message("lynne.robbins@northwind.example", "RQ webhook"))

    message = find_message(emulator, ADELE, "RQ webhook")
    wait_for(lambda: outlook_state(emulator, ADELE, message["id"])["state"] == "synced", 30, what="filed")
    assert not emulator.requests(path=r"/delta")


def test_embedded_scheduler_runs_delta_rounds_and_subscription_upkeep(pane, app, emulator, adele, monkeypatch):
    monkeypatch.setitem(app.config, "DELTA_INTERVAL_S", 1)
    message = find_message(emulator, ADELE, "Plain: order confirmation from Northwind")
    assert pane().post(f"/messages/{message['id']}/state", json={"state": "unsynced"}).status_code == 200
    set_settings(app, adele, auto_sync="marked")

    scheduler = EmbeddedScheduler(app, tick_s=0.2).start()
    try:
        wait_for(
            lambda: outlook_state(emulator, ADELE, message["id"])["state"] == "synced",
            30,
            what="a scheduled delta round",
        )
        wait_for(lambda: len(subscriptions(app)) == 2, 30, what="scheduled subscription upkeep")
        emulator.clear_requests()
        wait_for(
            lambda: emulator.requests(path=r"/messages/delta", method="GET"),
            30,
            what="the next round, DELTA_INTERVAL_S later",
        )
    finally:
        scheduler.stop()
    wait_idle(app)


def test_a_job_asked_for_while_it_runs_runs_once_more_and_duplicates_do_not_pile_up(app, clean_state):
    release = threading.Event()
    runs = []

    @job("test_blocking")
    def blocking(ctx):
        runs.append(ctx.job.id)
        release.wait(10)

    job_id = enqueue("test_blocking", {}, key="test:blocking", app=app)
    wait_for(lambda: runs, 10, 0.02, "the first run")
    assert job_state(app, job_id) == "running"
    assert enqueue("test_blocking", {}, key="test:blocking", app=app) == job_id
    assert enqueue("test_blocking", {}, key="test:blocking", app=app) == job_id
    release.set()

    wait_for(lambda: job_state(app, job_id) == "done" and len(runs) == 2, 10, 0.02, "one more run")
    time_check = len(runs)
    wait_idle(app)
    assert len(runs) == time_check == 2
