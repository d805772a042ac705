"""Contact imports as background jobs (the admin page's upload).

The uploaded file is stored under the instance dir (`instance/imports/`), never in
the database; the job (`crm_import`) runs the same import as `flask crm import`
(server.crm.import_batches) with the import's progress callback feeding the job's
progress: `done`/`total` are bytes read of the file's size, the cursor holds the
rows read so far and, once finished, the summary the job page shows.

A file the import refuses (not UTF-8, no header row naming a known column, no vCard)
fails the job at once (`ImportRefused`, no retries: running it again could not help),
with one plain sentence saying why and what to do, kept in the job's error and its
cursor's `refused` for the job page. Anything else
(the file gone, the database failing part-way) fails the job, which is retried and
then listed for the admin's Retry; the import is idempotent, so a retry completes it
without duplicates. The file is deleted once imported; leftovers of jobs never
retried are pruned after KEEP_UPLOADS.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import BinaryIO

from flask import Flask
from sqlalchemy.orm import Session

from server.crm import audit
from server.crm.contact_changes import ChangedBy
from server.crm.import_batches import ImportAborted, import_file
from server.crm.import_rows import ImportFileError, ImportSummary
from server.crm.models import User
from server.db import Database
from server.jobs.queue import enqueue
from server.jobs.registry import FailNow, JobContext, job

KIND = "crm_import"
UPLOAD_DIR = "imports"
EXTENSIONS = {".csv": ".csv", ".txt": ".csv", ".vcf": ".vcf", ".vcard": ".vcf"}
# Bad rows kept in the job's summary (the summary counts them all).
SHOWN_PROBLEMS = 200
KEEP_UPLOADS_S = 7 * 24 * 3600
CHUNK = 64 * 1024


class UploadMissing(FileNotFoundError):
    """The job's uploaded file is not on this server (deleted, or another machine's instance dir)."""


class UploadTooLarge(ValueError):
    """The upload is over its limit (IMPORT_MAX_BYTES)."""


class ImportRefused(FailNow):
    """The import refused the file; the message says why and what to do (a new upload)."""


def uploads_dir(app: Flask) -> Path:
    path = Path(app.instance_path) / UPLOAD_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(app: Flask, stored: str) -> Path:
    """Where an upload is kept; `stored` is a name this module made (no directories)."""
    if not stored or Path(stored).name != stored:
        raise UploadMissing("the job names no uploaded file")
    return uploads_dir(app) / stored


def accepted_extension(filename: str) -> str | None:
    """The stored extension for an uploaded file's name, None when not CSV or vCard."""
    return EXTENSIONS.get(Path(filename or "").suffix.lower())


def save_upload(app: Flask, stream: BinaryIO, filename: str, limit: int) -> tuple[str, int]:
    """Copies an upload under instance/imports/ with a random name; returns (stored
    name, size). Raises UploadTooLarge (nothing kept) and ValueError for a name
    that is not .csv/.txt/.vcf/.vcard."""
    extension = accepted_extension(filename)
    if extension is None:
        raise ValueError("not a CSV or vCard file name")
    prune_uploads(app)
    stored = secrets.token_hex(16) + extension
    path = uploads_dir(app) / stored
    size = 0
    try:
        with open(path, "xb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"the file is larger than {limit} bytes")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return stored, size


def prune_uploads(app: Flask) -> None:
    """Deletes uploads older than KEEP_UPLOADS_S (jobs that failed and were never retried)."""
    cutoff = time.time() - KEEP_UPLOADS_S
    for path in uploads_dir(app).iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def enqueue_import(app: Flask, user: User, stored: str, name: str, size: int, submit: bool = True) -> int:
    """Queues the import of an upload into `user`'s tenant; returns the job id. The
    upload is recorded in the audit log with the job."""
    params = {"file": stored, "name": name[:200], "size": size}
    actor = audit.Actor.of(user)

    def record(session: Session, job_id: int) -> None:
        audit.record(
            session,
            user.tenant_id,
            actor,
            audit.IMPORT_STARTED,
            target=("job", job_id),
            after={"file": params["name"], "size": size},
        )

    return enqueue(
        KIND,
        params,
        key=f"import:{stored}",
        tenant_id=user.tenant_id,
        user_id=user.id,
        app=app,
        submit=submit,
        also=record,
    )


def record_applied(ctx: JobContext, uploader: User | None, summary: ImportSummary, stopped: str = "") -> None:
    """The audit entry of an import that wrote rows, in the transaction of the job's
    last progress (the rows themselves were committed batch by batch)."""
    counts = {k: v for k, v in summary.as_dict().items() if k not in ("problems", "warnings")}
    audit.record(
        ctx.session,
        ctx.job.tenant_id,
        uploader,
        audit.IMPORT_APPLIED,
        target=("job", ctx.job.id),
        after={"file": ctx.params.get("name", ""), **counts, **({"stopped": stopped} if stopped else {})},
    )


def summary_for_page(summary: ImportSummary) -> dict:
    shown = summary.as_dict()
    shown["problems"] = shown["problems"][:SHOWN_PROBLEMS]
    return shown


def refuse(ctx: JobContext, path: Path, sentence: str, summary: ImportSummary) -> None:
    """Fails the job for good with the reason the import gave; the upload goes (a fixed
    file is a new upload)."""
    ctx.progress(failed=summary.errors, cursor={"rows": summary.rows, "refused": sentence})
    path.unlink(missing_ok=True)
    raise ImportRefused(sentence)


@job(KIND)
def import_job(ctx: JobContext) -> None:
    params = ctx.params
    path = upload_path(ctx.app, params.get("file", ""))
    if not path.is_file():
        raise UploadMissing("the uploaded file is no longer on the server")
    size = path.stat().st_size
    # The import writes through its own sessions; end the claim's read first (SQLite).
    ctx.session.commit()
    ctx.progress(done=0, total=size, failed=0, cursor={"rows": 0})

    def advance(rows: int, bytes_read: int) -> None:
        ctx.progress(done=min(bytes_read, size), total=size, cursor={"rows": rows})

    uploader = ctx.session.get(User, ctx.job.user_id) if ctx.job.user_id else None
    try:
        summary = import_file(
            Database.state(ctx.app).session_factory,
            ctx.job.tenant_id,
            path,
            progress=advance,
            auto_link_companies=ctx.app.config.get("AUTO_LINK_COMPANIES"),
            changed_by=ChangedBy.user("import", uploader, "import"),
        )
    except ImportFileError as exc:
        refuse(ctx, path, str(exc), ImportSummary())
    except ImportAborted as exc:
        if not exc.refused:
            raise
        if exc.summary.rows:
            record_applied(ctx, uploader, exc.summary, stopped=str(exc))
        refuse(ctx, path, str(exc), exc.summary)
    record_applied(ctx, uploader, summary)
    ctx.progress(
        done=size,
        total=size,
        failed=summary.errors,
        cursor={"rows": summary.rows, "summary": summary_for_page(summary)},
    )
    path.unlink(missing_ok=True)
