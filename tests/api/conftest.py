"""The backend on the real stack: migrated database (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), the emulator over HTTPS as Microsoft 365, and tokens
the emulator mints, exactly as Office would hand them to the pane."""
from __future__ import annotations

import os
import time

import pytest

from server import create_app
from server.db import session_scope
from server.jobs.runners import ThreadRunner
from server.jobs.running import runner_for
from server.migrate import upgrade
from tests.support.database import empty_crm, fresh_database

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
ADELE = "adele.vance@contoso.com"
MEGAN = "megan.bowen@contoso.com"
PAT = "pat.kowalski@fabrikam.com"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


def backend_settings(emulator, database_url, **overrides) -> dict:
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


@pytest.fixture(scope="session")
def app(emulator, database_url, tmp_path_factory):
    return create_app(backend_settings(emulator, database_url,
                                       INSTANCE_DIR=str(tmp_path_factory.mktemp("instance"))))


@pytest.fixture
def client(app, clean_state):
    return app.test_client()


@pytest.fixture
def clean_state(app, emulator):
    """Each test starts from the fixture mailboxes and an empty CRM."""
    settle_jobs(app)  # a job left by an earlier test must not call Graph during this one
    emulator.reset()
    with session_scope(app) as session:
        empty_crm(session)
    yield


def settle_jobs(app, timeout_s: float = 30) -> None:
    """Drops queued background jobs and waits for running ones to finish."""
    runner = runner_for(app)
    if not isinstance(runner, ThreadRunner):
        return
    runner.cancel_pending()
    deadline = time.monotonic() + timeout_s
    while not runner.idle() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def crm(app):
    """A CRM session for arranging and checking records."""
    with session_scope(app) as session:
        yield session


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


@pytest.fixture
def pane(client, emulator):
    """`pane(upn)` -> a Pane for that user (default Adele)."""
    def make(upn: str = ADELE) -> Pane:
        return Pane(client, emulator, upn)
    return make
