"""`flask --app server crm import|export`: contacts into and out of the CRM."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from server.crm import audit
from server.crm.exporting import FORMATS, export_contacts
from server.crm.import_batches import BATCH_SIZE, ImportAborted, import_file
from server.crm.import_rows import ImportFileError, ImportSummary
from server.crm.models import Tenant
from server.db import Database, session_scope

# Problems listed on the terminal; the summary counts them all.
SHOWN_PROBLEMS = 50


def _tenant_id(_ctx, _param, value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise click.BadParameter("give the tenant's Entra ID tenant id (a GUID), not its name or domain") from None


def _tenant_option(fn):
    return click.option(
        "--tenant",
        "tenant_id",
        required=True,
        metavar="TENANT_ID",
        callback=_tenant_id,
        help="The tenant's Entra ID tenant id (tid).",
    )(fn)


@click.command("import")
@with_appcontext
@_tenant_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "vcard", "vcf"]),
    default=None,
    help="The file's format (default: detected from its content).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=BATCH_SIZE,
    show_default=True,
    help="Rows written per transaction.",
)
@click.option(
    "--progress/--no-progress", default=None, help="Show a progress bar on stderr (default: when stderr is a terminal)."
)
def import_command(tenant_id: str, file: Path, fmt: str | None, batch_size: int, progress: bool | None) -> None:
    """Import contacts from a CSV or vCard FILE (idempotent: matched by email)."""
    fmt = "vcard" if fmt == "vcf" else fmt
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        bar = tqdm(total=file.stat().st_size, unit="B", unit_scale=True, desc=file.name, file=sys.stderr, leave=False)

    def advance(rows: int, bytes_read: int) -> None:
        if bar is not None:
            bar.update(bytes_read - bar.n)
            bar.set_postfix(rows=rows, refresh=False)

    try:
        summary = import_file(
            Database.state(current_app).session_factory,
            tenant_id,
            file,
            batch_size=batch_size,
            progress=advance,
            fmt=fmt,
            auto_link_companies=current_app.config.get("AUTO_LINK_COMPANIES"),
        )
    except ImportFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    except ImportAborted as exc:
        _report(exc.summary, file, tenant_id)
        _record_import(tenant_id, file, exc.summary, stopped=str(exc))
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    _record_import(tenant_id, file, summary)
    _report(summary, file, tenant_id)


def _record_import(tenant_id: str, file: Path, summary: ImportSummary, stopped: str = "") -> None:
    """The import's audit entry (its rows were committed batch by batch)."""
    if not summary.rows:
        return
    counts = {k: v for k, v in summary.as_dict().items() if k not in ("problems", "warnings")}
    with session_scope(current_app) as session:
        audit.record(
            session,
            tenant_id,
            audit.COMMAND_LINE,
            audit.IMPORT_APPLIED,
            after={"file": file.name, **counts, **({"stopped": stopped} if stopped else {})},
        )
        session.commit()


def _report(summary: ImportSummary, file: Path, tenant_id: str) -> None:
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in summary.problems[:SHOWN_PROBLEMS]:
        click.echo(f"{file.name}: {problem}", err=True)
    if summary.errors > SHOWN_PROBLEMS:
        click.echo(f"... and {summary.errors - SHOWN_PROBLEMS} more bad rows", err=True)
    click.echo(
        f"Imported {file.name} into tenant {tenant_id}: {summary.rows} rows, "
        f"{summary.created} created, {summary.updated} updated, {summary.skipped} skipped (unchanged), "
        f"{summary.merged} merged (same address in the file), {summary.errors} errors; "
        f"{summary.companies_created} companies created."
    )


@click.command("export")
@with_appcontext
@_tenant_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
def export_command(tenant_id: str, fmt: str, file: str) -> None:
    """Export the tenant's contacts to FILE ('-' for stdout) as CSV or vCard."""
    with session_scope(current_app) as session:
        if file == "-":
            count = export_contacts(session, tenant_id, sys.stdout, fmt)
        else:
            with open(file, "w", encoding="utf-8", newline="") as out:
                count = export_contacts(session, tenant_id, out, fmt)
        if session.get(Tenant, tenant_id) is not None:  # an unknown tenant has neither contacts nor a log
            audit.record(
                session,
                tenant_id,
                audit.COMMAND_LINE,
                audit.EXPORT_WRITTEN,
                after={"format": fmt, "contacts": count, "file": "-" if file == "-" else Path(file).name},
            )
            session.commit()
    click.echo(f"Exported {count} contacts of tenant {tenant_id} to {file}.", err=file == "-")
