"""`flask --app server db ...`: the database migrations (Alembic)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import make_url

from server import migrate

db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = current_app.config["DATABASE_URL"]
    before = migrate.current_revision(url)
    migrate.upgrade(url, revision)
    click.echo(f"Database {safe_url(url)}: {before or 'empty'} -> {migrate.current_revision(url)}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    url = current_app.config["DATABASE_URL"]
    before = migrate.current_revision(url)
    migrate.downgrade(url, revision)
    click.echo(f"Database {safe_url(url)}: {before or 'empty'} -> {migrate.current_revision(url) or 'empty'}")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's current revision."""
    click.echo(migrate.current_revision(current_app.config["DATABASE_URL"]) or "empty (never migrated)")


def safe_url(url: str) -> str:
    """The URL without its password, fit for a terminal."""
    return make_url(url).render_as_string(hide_password=True)
