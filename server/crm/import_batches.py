"""Importing contacts into a tenant's CRM from CSV or vCard: the file read as a
stream and written in batches.

Idempotent: a contact is matched by any of its email addresses (a contact
without one by display name and company), so a re-import updates and never
duplicates, and rows of one file sharing an address merge into one contact.
Rows are read as a stream and written in batches, each batch in its own
transaction (import_applying.apply_batch), so memory stays flat and a crash
part-way leaves every finished batch committed; running the same import again
completes it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from server.crm.contact_changes import IMPORT, ChangedBy
from server.crm.import_applying import apply_batch
from server.crm.import_reading import CountingReader, read_rows
from server.crm.import_rows import ImportFileError, ImportRow, ImportSummary, RowProblem
from server.crm.models import Tenant
from server.crm.tenants import get_or_create_tenant

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# Contacts created before the first ANALYZE (PostgreSQL); then each time they quadruple.
ANALYZE_FIRST_AT = 2000


class ImportAborted(RuntimeError):
    """The import stopped part-way; `summary` counts the batches that were committed.
    `refused`: the file itself is unreadable from some point on, so running the same
    import again cannot finish it (the message says what to do instead)."""

    def __init__(self, message: str, summary: ImportSummary, *, refused: bool = False):
        super().__init__(message)
        self.summary = summary
        self.refused = refused


def import_file(
    session_factory: sessionmaker[Session],
    tenant_id: str,
    path: str | os.PathLike,
    *,
    batch_size: int = BATCH_SIZE,
    auto_link_companies: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    fmt: str | None = None,
    changed_by: ChangedBy = IMPORT,
) -> ImportSummary:
    """Imports a CSV or vCard file into tenant `tenant_id` (created if missing); the
    contacts it changes record `changed_by` in their history.
    `progress(rows, bytes_read)` is called after every batch. Raises ImportFileError
    (nothing imported) or ImportAborted (earlier batches committed)."""
    with open(path, "rb") as handle:
        return import_stream(
            session_factory,
            tenant_id,
            handle,
            batch_size=batch_size,
            auto_link_companies=auto_link_companies,
            progress=progress,
            fmt=fmt,
            name=str(path),
            changed_by=changed_by,
        )


def import_stream(
    session_factory: sessionmaker[Session],
    tenant_id: str,
    raw: BinaryIO,
    *,
    batch_size: int = BATCH_SIZE,
    auto_link_companies: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    fmt: str | None = None,
    name: str = "",
    changed_by: ChangedBy = IMPORT,
) -> ImportSummary:
    """Like import_file, from an open binary stream."""
    summary = ImportSummary()
    counter = CountingReader(raw)
    rows = read_rows(counter, summary.warnings.append, fmt, name)
    with session_factory() as session:
        get_or_create_tenant(session, tenant_id, auto_link_companies=auto_link_companies)
        session.commit()
        derive_domains = bool(session.get(Tenant, tenant_id).effective_settings()["auto_link_companies"])
    batch: list[ImportRow] = []
    analyze_at = [ANALYZE_FIRST_AT]

    def flush() -> None:
        try:
            with session_factory() as session:
                apply_batch(session, tenant_id, batch, summary, derive_domains, changed_by)
        except Exception as exc:
            raise ImportAborted(
                f"the import stopped at line {batch[0].line} ({type(exc).__name__}: {exc}); "
                "every earlier row is saved: run the same import again to finish it",
                summary,
            ) from exc
        batch.clear()
        if summary.created >= analyze_at[0]:
            refresh_statistics(session_factory)
            analyze_at[0] *= 4
        if progress:
            progress(summary.rows, counter.count)

    try:
        for item in rows:
            if isinstance(item, RowProblem):
                summary.problems.append(item)
                summary.rows += 1
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    except ImportFileError as exc:
        if batch:
            flush()  # the rows before the unreadable part are good
        if summary.rows:
            raise ImportAborted(str(exc), summary, refused=True) from exc  # says the rows before are saved
        raise
    except ImportAborted:
        raise
    except Exception as exc:  # the stream failed (a disk, a network share)
        raise ImportAborted(
            f"reading the file failed ({type(exc).__name__}: {exc}); "
            "every earlier batch is saved: run the same import again to finish it",
            summary,
        ) from exc
    if summary.created >= ANALYZE_FIRST_AT // 4:
        refresh_statistics(session_factory)
    if progress:
        progress(summary.rows, counter.count)
    summary.problems.sort(key=lambda p: p.line)
    return summary


def refresh_statistics(session_factory: sessionmaker[Session]) -> None:
    """ANALYZE the tables an import fills (PostgreSQL): the planner picks index
    lookups for address matching only once it knows the tables are no longer empty,
    and autovacuum may not get there for a minute."""
    with session_factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            return
        try:
            session.execute(text("ANALYZE contacts, contact_emails, companies"))
            session.commit()
        except SQLAlchemyError as exc:  # e.g. a role that does not own the tables
            session.rollback()
            log.info("ANALYZE after import skipped: %s", exc)
