"""Fixtures for the backend's own tests: a real, migrated database and an app on it.

`database_url`: TEST_DATABASE_URL if set (PostgreSQL: a fresh database is
created beside the named one for this test session, and dropped after), else a
temporary SQLite file. Either way it is migrated with `db upgrade` first.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from server import create_app, migrate
from server.crm.models import Base
from server.db import Database

@contextmanager
def fresh_database(base_url: str | None, tmp_dir: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new database on the PostgreSQL
    server of `base_url` (dropped afterwards)."""
    if not base_url or make_url(base_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_dir / f'crm-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    url = make_url(base_url)
    name = f"{url.database}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
    engine = Database.state(app).engine
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    engine.dispose()


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
