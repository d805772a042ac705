"""`flask --app server crm sync-mailbox ...`: bulk-sync a folder from the terminal."""

from __future__ import annotations

import re
import sys
import threading
import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select
from tqdm import tqdm

from server.crm import audit
from server.crm.models import User
from server.crm.tenants import get_or_create_user
from server.db import Database, session_scope
from server.graph.errors import AccessDenied, GraphError
from server.jobs.running import run_job
from server.jobs.status import get_job
from server.sync.app_access import AutomaticSyncNotAllowed
from server.sync.bulk import enqueue_bulk
from server.sync.mailbox_factory import app_only_graph

POLL_S = 0.3
OBJECT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def find_user(session, user: str, tenant_id: str | None) -> User:
    """The CRM user by UPN or object id; with --tenant, one not yet in the CRM is
    looked up in Graph (app-only) and added."""
    key = user.strip().lower()
    query = select(User).where(or_(func.lower(User.upn) == key, User.oid == key))
    if tenant_id:
        query = query.where(User.tenant_id == tenant_id)
    found = session.scalars(query).all()
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise click.ClickException(f"{user} is a user of several tenants: add --tenant.")
    if not tenant_id:
        raise click.ClickException(f"No CRM user {user}: add --tenant TENANT_ID to look them up in Microsoft 365.")
    if OBJECT_ID.match(key):
        found_user = {"id": key}
    else:
        found_user = _graph_user(tenant_id, user.strip())
    created = get_or_create_user(
        session,
        tenant_id,
        found_user["id"],
        found_user.get("userPrincipalName") or "",
        found_user.get("displayName") or "",
        auto_link_companies=current_app.config.get("AUTO_LINK_COMPANIES"),
    )
    session.commit()
    return created


def _graph_user(tenant_id: str, upn: str) -> dict:
    """The user's object id from Graph (app-only; needs User.Read.All, which the add-in
    does not otherwise ask for)."""
    graph = app_only_graph(current_app.config, tenant_id, upn)
    try:
        return graph.get_user()
    except AccessDenied:
        raise click.ClickException(
            f"{upn} is not in the CRM yet and the app may not read user profiles: pass the user's "
            "object id (--user OID --tenant TENANT_ID), or let them open the add-in once."
        ) from None
    except GraphError as exc:
        raise click.ClickException(f"{upn}: {exc}") from None


def summary_line(summary: dict, failed: int) -> str:
    """Each outcome counted on its own (sync/automatic.py Outcome), in words."""
    count = {key: int(summary.get(key) or 0) for key in summary}
    line = (
        f"Filed {count.get('filed', 0)}, already filed {count.get('already_filed', 0)}, "
        f"skipped because marked {count.get('marked', 0)}, "
        f"skipped because no CRM contact {count.get('no_contact', 0)}, "
        f"skipped for the never-sync list {count.get('never_sync', 0)}, "
        f"skipped otherwise {count.get('skipped', 0)}, failed {max(failed, count.get('failed', 0))}"
    )
    if count.get("contacts_created"):
        line += f"; {count['contacts_created']} CRM contacts created for unknown senders"
    return line + "."


@click.command("sync-mailbox")
@with_appcontext
@click.option("--user", "user_key", required=True, metavar="UPN_OR_OID", help="Whose mailbox.")
@click.option("--folder", default="inbox", show_default=True, help="Folder: inbox, sentitems or a folder id.")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="File mail received on or after this date (YYYY-MM-DD).",
)
@click.option(
    "--tenant",
    "tenant_id",
    default=None,
    metavar="TENANT_ID",
    help="The user's tenant (needed for a user the CRM has not met yet).",
)
@click.option(
    "--progress/--no-progress", default=None, help="Show a progress bar on stderr (default: when stderr is a terminal)."
)
def sync_mailbox(user_key: str, folder: str, since: datetime, tenant_id: str | None, progress: bool | None) -> None:
    """Bulk-sync a folder since a date, here and now (resumes an interrupted run)."""
    app = current_app._get_current_object()
    with session_scope(app) as session:
        user = find_user(session, user_key, tenant_id.strip().lower() if tenant_id else None)
        try:
            job_id = enqueue_bulk(app, user, folder, since.date(), submit=False, by=audit.COMMAND_LINE)
        except AutomaticSyncNotAllowed as refused:
            raise click.ClickException(f"{user.upn}: {refused.message}") from None
        upn = user.upn
    runner = threading.Thread(target=run_job, args=(app, job_id), daemon=True)
    started = time.monotonic()
    runner.start()
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        bar = tqdm(total=None, unit="msg", desc=f"{upn} {folder}", file=sys.stderr)
    factory = Database.state(app).session_factory
    try:
        while True:
            runner.join(POLL_S)
            # Asked before the read: a job that ends between the read and the question
            # would otherwise be reported as still running.
            finished = not runner.is_alive()
            with factory() as session:
                row = get_job(session, job_id)
                done, total, failed, state, error = row.done, row.total, row.failed, row.state, row.error
                summary = dict((row.cursor or {}).get("summary") or {})
            if bar is not None:
                if total is not None and bar.total != total:
                    bar.total = total
                bar.update(done + failed - bar.n)
                bar.set_postfix(failed=failed, refresh=False)
            if finished:
                break
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.monotonic() - started
    click.echo(
        f"Bulk sync of {upn} {folder} since {since.date()}: {state}; {done} done of "
        f"{total if total is not None else '?'}, {failed} failed, in {elapsed:.1f} s (job {job_id})."
    )
    if summary:
        click.echo(summary_line(summary, failed))
    if state != "done":
        raise click.ClickException(
            f"Not finished ({state}): {error or 'see the log'}. Run the same command again to resume."
        )
