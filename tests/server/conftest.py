"""Fixtures for the backend's own tests: a real, migrated database and an app on it.

`database_url`: TEST_DATABASE_URL if set (PostgreSQL: a fresh database is
created beside the named one for this test session, and dropped after), else a
temporary SQLite file. Either way it is migrated with `db upgrade` first.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.orm import Session

from server import create_app, migrate
from server.db import Database
from tests.support.database import empty_crm, fresh_database


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db")) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def fresh_database_factory(tmp_path_factory):
    """Context manager giving an EMPTY database (no migrations) of the test backend."""
    return lambda: fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("fresh"))


def app_config(database_url: str, instance_dir: Path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "test-only-secret",
        "PUBLIC_BASE_URL": "http://localhost:5000",
        "AZURE_CLIENT_ID": "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def app(database_url, tmp_path):
    """An app on the migrated test database; every CRM table is emptied after the test."""
    app = create_app(app_config(database_url, tmp_path / "instance"))
    yield app
    with Database.state(app).session_factory() as session:
        empty_crm(session)
    Database.state(app).engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session_factory(app):
    """Makes independent sessions on the app's engine (e.g. one per thread)."""
    return Database.state(app).session_factory


@pytest.fixture
def db(session_factory) -> Iterator[Session]:
    """A session on the test database (emptied after the test by `app`)."""
    session = session_factory()
    yield session
    session.rollback()
    session.close()
