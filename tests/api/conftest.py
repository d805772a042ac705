"""The backend on the real stack: migrated database (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), the emulator over HTTPS as Microsoft 365, and tokens
the emulator mints, exactly as Office would hand them to the pane."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server import create_app
from server.crm.models import Base
from server.db import session_scope
from server.migrate import upgrade

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
ADELE = "adele.vance@contoso.com"
MEGAN = "megan.bowen@contoso.com"
PAT = "pat.kowalski@fabrikam.com"


def fresh_database_url(tmp_path_factory) -> str:
    """A new, empty database for this test session."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'crm.sqlite3'}"
    url = make_url(base)
    name = f"crm_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = fresh_database_url(tmp_path_factory)
    upgrade(url)
    return url


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
    emulator.reset()
    with session_scope(app) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
        session.commit()
    yield


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
