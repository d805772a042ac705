"""Alembic environment: the URL comes from server.migrate (attributes) or the
app's settings (DATABASE_URL); SQLite migrates in batch mode."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool

from server.config import Config
from server.crm.models import Base
from server.crm.types import UTCDateTime
from server.db import make_engine

config = context.config
if config.config_file_name is not None and not config.attributes.get("database_url"):
    # Called from the alembic command line: configure its logging. From the app
    # or tests, leave their logging alone.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.attributes.get("database_url") or Config.from_env().DATABASE_URL


def render_item(type_, obj, autogen_context):
    """Migrations use plain SQLAlchemy types, not the app's, so old revisions
    keep working when server.crm changes."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def run_migrations_offline() -> None:
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying it and dropping the old one; with
            # foreign keys on, that drop runs every ON DELETE of the rows pointing at it
            # (a users rebuild would null every link's maker and delete sessions). The
            # pragma is a no-op inside a transaction, hence before it; the check after
            # proves the rebuilt tables still satisfy every key.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end SQLAlchemy's autobegun transaction: alembic opens its own
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise RuntimeError(f"migration left rows breaking foreign keys: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
