"""Alembic, driven through its command API (`flask --app server db upgrade`,
the test setup, `make run`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext

from server.config import ROOT_DIR
from server.db import make_engine


def alembic_config(database_url: str) -> AlembicConfig:
    """alembic.ini at the repo root, pointed at `database_url` (passed through
    `attributes`, so passwords with '%' need no escaping)."""
    cfg = AlembicConfig(str(ROOT_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT_DIR / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The database's revision (None when it has never been migrated)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
