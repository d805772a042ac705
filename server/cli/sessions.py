"""`flask --app server crm end-sessions UPN`: signs a person out of the CRM pages on
every browser (their page sessions end; the pane's tokens are Microsoft's to revoke)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from server.auth.page_sessions import ENDED_FROM_CLI, end_sessions
from server.crm.models import User
from server.db import session_scope


@click.command("end-sessions")
@with_appcontext
@click.argument("upn")
@click.option("--tenant", "tenant_id", default=None, help="The tenant id, when the UPN is known in several tenants.")
def end_sessions_command(upn: str, tenant_id: str | None) -> None:
    """End every CRM page session of the user with this UPN."""
    app = current_app._get_current_object()
    with session_scope(app) as db:
        query = select(User).where(func.lower(User.upn) == upn.strip().lower())
        if tenant_id:
            query = query.where(User.tenant_id == tenant_id.strip().lower())
        users = list(db.scalars(query))
        found = [(u.tenant_id, u.id, u.upn) for u in users]
    if not found:
        raise click.ClickException(f"No CRM user {upn}.")
    if len(found) > 1:
        raise click.ClickException(f"{upn} is a user of several tenants: name one with --tenant.")
    tenant, user_id, name = found[0]
    ended = end_sessions(app, tenant_id=tenant, user_id=user_id, reason=ENDED_FROM_CLI)
    click.echo(f"Ended {ended} session(s) of {name}.")
