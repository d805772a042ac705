"""Database and worker faults during a bulk job, on PostgreSQL, Redis and real `rq
worker` processes: PostgreSQL restarted mid-job, a worker killed with SIGKILL mid-job.
Either way the job resumes from its cursor and the end state is exact: every message
filed once, marked once in Outlook, the job done.

The PostgreSQL here is a cluster of this module's own (scripts/pg-test-cluster.sh), so
restarting it disturbs no other test. Select with `-m database_faults`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from server import create_app
from server.crm.models import Email, MailboxItem, SyncJob, User
from server.crm.tenants import get_or_create_user
from server.db import session_scope
from server.jobs.running import recover_stalled_jobs
from server.migrate import upgrade
from server.sync.bulk import enqueue_bulk
from tests.support.backend import JOB_SETTINGS, backend_settings
from tests.support.bulk_mailbox import SINCE, customers_in_crm, deliver_many, graph_calls
from tests.support.database import empty_crm
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.rq_processes import RqWorkers
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]
COUNT = 1000

pytestmark = [
    pytest.mark.database_faults,
    pytest.mark.redis,
    pytest.mark.skipif(
        make_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://").get_backend_name() != "postgresql",
        reason="restarting the database needs PostgreSQL (make test-postgres runs these)",
    ),
]


class Cluster:
    """A throwaway PostgreSQL cluster (scripts/pg-test-cluster.sh) that can be restarted."""

    def __init__(self):
        out = subprocess.run(
            [str(ROOT / "scripts" / "pg-test-cluster.sh")], check=True, capture_output=True, text=True
        ).stdout
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        self.url, self.dir = values["DATABASE_URL"], values["PGDATA_DIR"]

    def pg_ctl(self, *args: str) -> None:
        pg_bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
        command = [str(pg_bin / "pg_ctl"), "-D", f"{self.dir}/data", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # The server inherits no pipe of ours (it would hold it open): it logs to its file.
        subprocess.run(
            command,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def restart(self) -> None:
        self.pg_ctl("-l", f"{self.dir}/server.log", "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "pg-test-cluster.sh"), "stop", self.dir], capture_output=True)


@pytest.fixture(scope="module")
def cluster():
    running = Cluster()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def pg_app(cluster, emulator, redis_url, tmp_path_factory):
    upgrade(cluster.url)
    return create_app(
        backend_settings(
            emulator,
            cluster.url,
            REDIS_URL=redis_url,
            **JOB_SETTINGS,
            INSTANCE_DIR=str(tmp_path_factory.mktemp("instance")),
        )
    )


@pytest.fixture
def workers(pg_app, emulator, tmp_path):
    Redis.from_url(pg_app.config["REDIS_URL"]).flushdb()
    emulator.reset()
    with session_scope(pg_app) as session:
        empty_crm(session)
    running = RqWorkers(pg_app, emulator, tmp_path)
    yield running
    running.stop_all()


def start_bulk(app) -> int:
    with session_scope(app) as session:
        user = get_or_create_user(session, CONTOSO, ADELE_OID, ADELE, "Adele Vance")
        session.commit()
        return enqueue_bulk(app, session.get(User, user.id), "inbox", SINCE)


def job(app, job_id: int) -> SyncJob:
    with session_scope(app) as session:
        row = session.get(SyncJob, job_id)
        session.expunge(row)
        return row


def reachable_job(app, job_id: int) -> SyncJob | None:
    try:
        return job(app, job_id)
    except Exception:  # the database is restarting
        return None


def finish(app, job_id: int) -> SyncJob:
    """Waits for the job to end, calling the scheduler's minutely recovery meanwhile."""

    def ended():
        row = reachable_job(app, job_id)
        if row is not None and row.state in ("done", "failed"):
            return row
        if row is not None and row.state == "running":
            recover_stalled_jobs(app)
        return None

    return wait_for(ended, 240, 0.5, "the bulk job to end")


def assert_exact(app, emulator, row: SyncJob) -> None:
    assert row.state == "done", row.error
    assert (row.done, row.failed) == (COUNT, 0)
    with session_scope(app) as session:
        emails = session.scalar(select(func.count()).select_from(Email).where(Email.subject.like("Bulk %")))
        distinct = session.scalar(select(func.count(func.distinct(Email.internet_message_id))))
        total = session.scalar(select(func.count()).select_from(Email))
        synced = session.scalar(select(func.count()).select_from(MailboxItem).where(MailboxItem.state == "synced"))
    assert emails == COUNT and distinct == total and synced == total
    _, _, _, patches = graph_calls(emulator)
    marked = {p["path"] for p in patches}
    assert len(marked) == COUNT  # every message marked in Outlook


def test_postgresql_restart_mid_job_resumes_and_files_each_message_once(pg_app, cluster, workers, emulator):
    customers_in_crm(pg_app)
    deliver_many(emulator, COUNT)
    workers.start()
    emulator.clear_requests()
    job_id = start_bulk(pg_app)
    wait_for(lambda: job(pg_app, job_id).done >= COUNT // 4, 120, 0.05, "a quarter of the messages")

    cluster.restart()
    during = wait_for(lambda: reachable_job(pg_app, job_id), 60, 0.2, "the database back")
    assert during.done < COUNT

    row = finish(pg_app, job_id)
    assert_exact(pg_app, emulator, row)


def test_worker_killed_mid_job_is_retried_and_nothing_is_duplicated(pg_app, workers, emulator):
    customers_in_crm(pg_app)
    deliver_many(emulator, COUNT)
    worker = workers.start()
    emulator.clear_requests()
    job_id = start_bulk(pg_app)
    wait_for(lambda: job(pg_app, job_id).done >= COUNT // 3, 120, 0.05, "a third of the messages")

    workers.kill(worker)
    killed_at = job(pg_app, job_id)
    assert killed_at.state == "running" and killed_at.done < COUNT
    workers.start()

    row = finish(pg_app, job_id)
    assert row.attempts >= 2  # retried after the kill
    assert_exact(pg_app, emulator, row)
