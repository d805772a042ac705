"""Automatic and bulk sync on the real stack: a LIVE backend (werkzeug server in a
thread) that the emulator posts webhooks to, the in-process job queue, and for the
`redis` tests a real redis-server and real `rq worker` processes."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from server import create_app
from server.crm.models import SyncJob, User
from server.crm.tenants import get_or_create_user
from server.db import session_scope
from server.jobs.running import runner_for
from tests.api.conftest import *  # noqa: F401,F403
from tests.api.conftest import ADELE, CLIENT_ID, CONTOSO, backend_settings

ROOT = Path(__file__).resolve().parents[2]
ADELE_OID = "0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71"
JOB_SETTINGS = {"JOB_RETRY_BASE_S": 0.2, "JOB_MAX_ATTEMPTS": 5, "JOB_STALE_S": 2, "JOB_WORKERS": 2}


class LiveBackend:
    """The app served over HTTP on 127.0.0.1, for Graph's webhooks."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        app.config["NOTIFICATION_BASE_URL"] = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def app(emulator, database_url, tmp_path_factory):
    """The backend of these tests: embedded job queue, served live for webhooks."""
    application = create_app(backend_settings(emulator, database_url, **JOB_SETTINGS,
                                              INSTANCE_DIR=str(tmp_path_factory.mktemp("instance"))))
    live = LiveBackend(application)
    application.extensions["live_backend"] = live
    yield application
    live.stop()


def wait_for(predicate, timeout: float = 20, interval: float = 0.1, what: str = "condition"):
    """Polls until predicate() is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def jobs_idle(app) -> bool:
    """No job queued or running (the in-process queue, and the table)."""
    with session_scope(app) as session:
        busy = session.scalar(select(func.count()).select_from(SyncJob).where(
            SyncJob.state.in_(("queued", "running", "retrying"))))
    runner = runner_for(app)
    return busy == 0 and (not hasattr(runner, "idle") or runner.idle())


def wait_idle(app, emulator=None, timeout: float = 30) -> None:
    """Notifications delivered and every job finished."""
    time.sleep(0.2)
    wait_for(lambda: jobs_idle(app), timeout, what="jobs to finish")


@pytest.fixture(autouse=True)
def _drained(request):
    """After each test: no notification in flight and no job of ours running, so
    nothing reaches Graph or the database during the next test (in this process,
    which under xdist may be another suite's)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    emulator = request.getfixturevalue("emulator")
    emulator.reset()          # drops queued notifications and every subscription
    runner = runner_for(app)
    for _ in range(3):        # a notification being delivered may still queue one job
        time.sleep(0.2)
        runner.cancel_pending()
        wait_for(runner.idle, 30, 0.05, "the job threads to finish")


@pytest.fixture
def adele(app, clean_state):
    """Adele as a CRM user (the pane would create her on first use)."""
    with session_scope(app) as session:
        user = get_or_create_user(session, CONTOSO, ADELE_OID, ADELE, "Adele Vance")
        session.commit()
        return user.id


def set_settings(app, user_id: int, **settings) -> None:
    with session_scope(app) as session:
        user = session.get(User, user_id)
        user.update_settings(**settings)


def new_message(sender: str, subject: str, to=(ADELE,), **extra) -> dict:
    return {
        "subject": subject,
        "from": {"emailAddress": {"address": sender, "name": sender.split("@")[0].title()}},
        "toRecipients": [{"emailAddress": {"address": a, "name": ""}} for a in to],
        "body": {"contentType": "text", "content": f"Body of {subject}"},
        **extra,
    }


# -- Redis + RQ --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free port, in a temp dir, for the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from redis import Redis
    client = Redis(host="127.0.0.1", port=port)
    wait_for(lambda: _pings(client), 10, 0.05, "redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_app(emulator, database_url, redis_url, tmp_path_factory):
    """A backend whose jobs go to RQ on Redis, served live for webhooks."""
    application = create_app(backend_settings(emulator, database_url, REDIS_URL=redis_url, **JOB_SETTINGS,
                                              INSTANCE_DIR=str(tmp_path_factory.mktemp("instance"))))
    live = LiveBackend(application)
    yield application
    live.stop()


class RqWorkers:
    """Starts real `rq worker` processes with the backend's settings in their environment."""

    def __init__(self, app, emulator, tmp_path: Path):
        self.app = app
        self.tmp_path = tmp_path
        config = app.config
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
            "DATABASE_URL": config["DATABASE_URL"], "REDIS_URL": config["REDIS_URL"],
            "GRAPH_BASE_URL": config["GRAPH_BASE_URL"], "AUTHORITY_HOST": config["AUTHORITY_HOST"],
            "CA_BUNDLE": config["CA_BUNDLE"], "AZURE_CLIENT_ID": CLIENT_ID,
            "AZURE_CLIENT_SECRET": config["AZURE_CLIENT_SECRET"], "AZURE_TENANT_ID": "organizations",
            "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
            "NOTIFICATION_BASE_URL": config["NOTIFICATION_BASE_URL"],
            "GRAPH_MAX_WAIT_S": str(config["GRAPH_MAX_WAIT_S"]), "GRAPH_TIMEOUT_S": str(config["GRAPH_TIMEOUT_S"]),
            **{k: str(v) for k, v in JOB_SETTINGS.items()},
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.tmp_path / f"rq-worker-{len(self.processes)}.log", "w")
        rq = str(Path(sys.executable).with_name("rq"))
        process = subprocess.Popen([rq, "worker", "--with-scheduler", "--worker-class", "rq.worker.SimpleWorker",
                                    "--url", self.app.config["REDIS_URL"], "crm"],
                                   cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL, like a lost machine: the worker and its scheduler process at once."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            try:
                os.killpg(process.pid, signal.SIGKILL)   # what the worker left behind
            except ProcessLookupError:
                pass


@pytest.fixture
def rq_workers(redis_app, emulator, tmp_path):
    from redis import Redis
    Redis.from_url(redis_app.config["REDIS_URL"]).flushdb()
    workers = RqWorkers(redis_app, emulator, tmp_path)
    yield workers
    workers.stop_all()
