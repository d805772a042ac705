"""Test databases: a fresh SQLite file, or a fresh database on the PostgreSQL server
named by TEST_DATABASE_URL (dropped afterwards), empty or migrated; and emptying the CRM
between tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.crm.models import Base
from server.migrate import upgrade


@contextmanager
def fresh_database(base_url: str | None, tmp_dir: Path) -> Iterator[str]:
    """An empty database (no migrations): a new SQLite file, or a new database on the
    PostgreSQL server of `base_url`, dropped afterwards."""
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


@contextmanager
def migrated_database(base_url: str | None, tmp_dir: Path) -> Iterator[str]:
    """A fresh database as `db upgrade` leaves it."""
    with fresh_database(base_url, tmp_dir) as url:
        upgrade(url)
        yield url


def empty_crm(session) -> None:
    """Deletes every CRM row (children first) and commits. On the session's connection,
    below the ORM, which refuses to remove audit entries (server/crm/audit.py)."""
    for table in reversed(Base.metadata.sorted_tables):
        session.connection().execute(table.delete())
    session.commit()
