"""The backend as the tests run it: its settings on the emulator, the pane's view of its
API, waiting out its in-process job queue, and serving it over HTTP for Graph's webhooks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from server.jobs.runners import ThreadRunner
from server.jobs.running import runner_for
from tests.support.identities import CLIENT_ID

# The job queue of the live backends: quick retries, few attempts, stalls noticed in seconds.
JOB_SETTINGS = {"JOB_RETRY_BASE_S": 0.2, "JOB_MAX_ATTEMPTS": 5, "JOB_STALE_S": 2, "JOB_WORKERS": 2}

# The fault suites' Graph budget: a Graph request that takes longer than this is a timeout;
# retries share the same budget, so a Retry-After longer than it goes back to the caller at once.
GRAPH_TIMEOUT_S = 2
GRAPH_MAX_WAIT_S = 2


def backend_settings(emulator, database_url, **overrides) -> dict:
    """Settings of a backend whose Microsoft 365 is the emulator."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "GRAPH_BASE_URL": emulator.graph_url,
        "AUTHORITY_HOST": emulator.base_url,
        "CA_BUNDLE": emulator.ca_path,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": "local-emulator-only",
        "AZURE_TENANT_ID": "organizations",
        "PUBLIC_BASE_URL": "http://localhost:5000",
        "API_AUDIENCE": f"api://localhost:5000/{CLIENT_ID},{CLIENT_ID}",
        "GRAPH_MAX_WAIT_S": 5,
        "GRAPH_TIMEOUT_S": 5,
        **overrides,
    }


def app_config(database_url: str, instance_dir: Path) -> dict:
    """Settings of a backend with a database and no Microsoft 365 (no Graph, no sign-in)."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "test-only-secret",
        "PUBLIC_BASE_URL": "http://localhost:5000",
        "AZURE_CLIENT_ID": CLIENT_ID,
        "LOG_LEVEL": "WARNING",
    }


def settle_jobs(app, timeout_s: float = 30) -> None:
    """Drops queued background jobs and waits for running ones to finish."""
    runner = runner_for(app)
    if not isinstance(runner, ThreadRunner):
        return
    runner.cancel_pending()
    deadline = time.monotonic() + timeout_s
    while not runner.idle() and time.monotonic() < deadline:
        time.sleep(0.05)


class Pane:
    """Calls the API as the task pane of one signed-in user would."""

    def __init__(self, client, emulator, upn: str):
        self.client = client
        self.emulator = emulator
        self.upn = upn
        self.token = emulator.pane_token(upn)

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers(), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(f"/api/v1{path}", headers=self.headers(), json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.client.put(f"/api/v1{path}", headers=self.headers(), json=json, **kw)

    def delete(self, path, **kw):
        return self.client.delete(f"/api/v1{path}", headers=self.headers(), **kw)


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
