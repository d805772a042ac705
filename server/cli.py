"""Command-line groups of `flask --app server ...`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from server import migrate

db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)


@db_cli.command("current")
@click.option("--verbose", "-v", is_flag=True)
def db_current(verbose: bool) -> None:
    """Show the database's current revision."""
    migrate.current(current_app.config["DATABASE_URL"], verbose=verbose)


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
