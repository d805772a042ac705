"""The admin's pages (/crm/admin/...): contact import, background jobs with progress,
the failed list with Retry, and bulk sync of the admin's own mailbox.

Admin only (the tenant's first user, as on the settings page); a job of another
tenant is 404. Everything works with plain form posts, and a job's page refreshes
itself (<noscript> meta refresh) while the job runs; with scripts on,
static/job_progress.js polls the progress instead (on the job page and for the
running jobs of the list) and reloads the job page when the job ends.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import select

from server.crm.models import SyncJob, User
from server.db import db_session
from server.request_limits import upload_limit
from server.sync.bulk import enqueue_bulk
from server.sync.import_job import (KIND as IMPORT_KIND, UploadTooLarge, accepted_extension, enqueue_import,
                                    save_upload)
from server.sync.jobs import get_job, job_progress, list_failed_jobs, retry_job
from server.web.blueprint import bp
from server.web.settings_page import is_admin, require_admin

RECENT_JOBS = 50
ACTIVE_STATES = ("queued", "running", "retrying")
REFRESH_S = 3
BULK_FOLDERS = {"inbox": "Inbox", "sentitems": "Sent Items"}
STATE_LABELS = {"queued": "Waiting to start", "running": "Running", "retrying": "Failed, will retry",
                "done": "Finished", "failed": "Failed"}
# The jobs list's filters: query value -> (label, kinds).
JOB_FILTERS = {"imports": ("Imports", ("crm_import",)), "bulk": ("Bulk syncs", ("bulk",)),
               "automatic": ("Automatic sync", ("message", "delta", "subscriptions", "lifecycle"))}
KIND_LABELS = {"delta": "Catch-up of new mail", "message": "New mail notification",
               "subscriptions": "Change-notification upkeep", "lifecycle": "Subscription event"}
# A job's last error is stored as "ExceptionName: message"; what each means, in words.
ERROR_EXPLANATIONS = {
    "UploadMissing": "The uploaded file is no longer on the server. Upload the file again.",
    "ImportAborted": "The import stopped part-way; every row before that point is saved. "
                     "Retry to finish it (no contact is duplicated).",
    "Unauthorized": "Microsoft 365 refused the app's token. Run Test connection on the settings page.",
    "AccessDenied": "Microsoft 365 denied access to the mailbox: the app may lack admin consent. "
                    "Run Test connection on the settings page.",
    "NotFound": "Microsoft 365 did not find the mailbox or folder.",
    "Throttled": "Microsoft 365 asked us to slow down. Retry in a few minutes.",
    "Unavailable": "Microsoft 365 was unavailable. Retry in a few minutes.",
    "GraphTimeout": "Microsoft 365 did not answer in time. Retry in a few minutes.",
    "GraphError": "Microsoft 365 answered with an error.",
    "ConnectionError": "Microsoft 365 could not be reached. Retry in a few minutes.",
    "OperationalError": "The CRM database was unavailable. Retry in a few minutes.",
}


def admin_user() -> User:
    """The signed-in admin; 403 for everyone else."""
    require_admin()
    return g.crm_user


def tenant_job(job_id: int) -> SyncJob:
    """A job of the admin's tenant, or 404 (also for another tenant's job)."""
    row = get_job(db_session(), job_id)
    if row is None or row.tenant_id != admin_user().tenant_id:
        abort(404)
    return row


# -- what the pages show of a job -----------------------------------------------------------

def job_title(row: SyncJob) -> str:
    params = row.params or {}
    if row.kind == IMPORT_KIND:
        return f"Import of {params.get('name') or 'a file'}"
    if row.kind == "bulk":
        folder = BULK_FOLDERS.get(params.get("folder", ""), params.get("folder") or "a folder")
        return f"Bulk sync of {folder} since {str(params.get('since', ''))[:10]}"
    return KIND_LABELS.get(row.kind, row.kind)


def explain_error(error: str) -> tuple[str, str]:
    """(plain words, the stored detail) for a job's last error."""
    if not error:
        return "", ""
    name, _, detail = error.partition(": ")
    words = ERROR_EXPLANATIONS.get(name)
    if words is None:
        return f"Unexpected error: {detail or name}", error
    return words, detail


def percent(row: SyncJob) -> int | None:
    if row.state == "done":
        return 100
    if not row.total:
        return None
    return max(0, min(100, int(100 * (row.done + (0 if row.kind == IMPORT_KIND else row.failed)) / row.total)))


def progress_text(row: SyncJob) -> str:
    """One line of progress, in words (the page's text and the script's updates)."""
    shown = job_progress(row)
    state = STATE_LABELS.get(row.state, row.state)
    if row.state == "queued" and not row.done:
        return state
    if row.kind == IMPORT_KIND:
        rows = int((row.cursor or {}).get("rows") or 0)
        share = percent(row)
        text = f"{rows:,} rows read" + (f" ({share} % of the file)" if share is not None else "")
    else:
        text = f"{row.done:,} of {row.total:,} messages" if row.total is not None else f"{row.done:,} messages"
        if row.failed:
            text += f", {row.failed:,} failed"
    if row.state == "running" and shown["eta_s"]:
        text += f", about {human_duration(shown['eta_s'])} left"
    return f"{state}: {text}"


def human_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{max(1, seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def job_view(row: SyncJob, users: dict[int, User]) -> dict:
    user = users.get(row.user_id) if row.user_id else None
    words, detail = explain_error(row.error)
    return {
        "id": row.id, "kind": row.kind, "title": job_title(row), "state": row.state,
        "state_label": STATE_LABELS.get(row.state, row.state), "active": row.state in ACTIVE_STATES,
        "done": row.done, "total": row.total, "failed": row.failed, "percent": percent(row),
        "text": progress_text(row), "attempts": row.attempts, "error": words, "error_detail": detail,
        "who": (user.display_name or user.upn) if user else "",
        "requested_at": row.created_at, "finished_at": row.finished_at,
        "cursor": dict(row.cursor or {}), "params": dict(row.params or {}),
    }


def users_of(rows) -> dict[int, User]:
    ids = {r.user_id for r in rows if r.user_id}
    if not ids:
        return {}
    return {u.id: u for u in db_session().scalars(select(User).where(User.id.in_(ids)))}


@bp.app_template_global("is_crm_admin")
def is_crm_admin() -> bool:
    """Whether the signed-in user administers the tenant (the nav's Admin link)."""
    if "crm_is_admin" not in g:
        user = g.get("crm_user")
        g.crm_is_admin = bool(user is not None and is_admin(db_session(), user))
    return g.crm_is_admin


# -- import -------------------------------------------------------------------------------

def import_page(status: int = 200, error: str | None = None):
    user = admin_user()
    recent = list(db_session().scalars(
        select(SyncJob).where(SyncJob.tenant_id == user.tenant_id, SyncJob.kind == IMPORT_KIND)
        .order_by(SyncJob.id.desc()).limit(10)))
    users = users_of(recent)
    return render_template("crm/admin_import.html", error=error, recent=[job_view(r, users) for r in recent],
                           max_size=human_bytes(import_limit())), status


def import_limit() -> int:
    return int(current_app.config["IMPORT_MAX_BYTES"])


def human_bytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"


@bp.get("/crm/admin/import")
def admin_import():
    """The contact import's upload form and the latest imports."""
    return import_page()


@bp.post("/crm/admin/import")
@upload_limit("IMPORT_MAX_BYTES")
def admin_upload():
    """Stores an uploaded CSV or vCard file and starts its import job."""
    user = admin_user()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return import_page(400, "Choose a CSV or vCard file to import.")
    if accepted_extension(upload.filename) is None:
        return import_page(400, "Only CSV (.csv, .txt) and vCard (.vcf, .vcard) files can be imported.")
    limit = import_limit()
    try:
        stored, size = save_upload(current_app, upload.stream, upload.filename, limit)
    except UploadTooLarge:
        return import_page(413, f"The file is larger than {human_bytes(limit)}. Split it and import the parts.")
    if size == 0:
        return import_page(400, "The file is empty.")
    job_id = enqueue_import(current_app._get_current_object(), user, stored, upload.filename, size)
    return redirect(url_for("web.admin_job", job_id=job_id), code=303)


# -- jobs -------------------------------------------------------------------------------------

@bp.get("/crm/admin/jobs")
def admin_jobs():
    """Recent jobs of the organization, the failed ones with Retry, and bulk sync."""
    user = admin_user()
    db = db_session()
    shown = request.args.get("kind", "")
    query = select(SyncJob).where(SyncJob.tenant_id == user.tenant_id)
    if shown in JOB_FILTERS:
        query = query.where(SyncJob.kind.in_(JOB_FILTERS[shown][1]))
    recent = list(db.scalars(query.order_by(SyncJob.id.desc()).limit(RECENT_JOBS)))
    failed_ids = [f["id"] for f in list_failed_jobs(user.tenant_id, app=current_app._get_current_object())]
    by_id = {r.id: r for r in db.scalars(select(SyncJob).where(SyncJob.id.in_(failed_ids)))} if failed_ids else {}
    failed_rows = [by_id[i] for i in failed_ids if i in by_id]
    users = users_of(recent + failed_rows)
    return render_template(
        "crm/admin_jobs.html", jobs=[job_view(r, users) for r in recent],
        failed=[job_view(r, users) for r in failed_rows], folders=BULK_FOLDERS,
        filters=JOB_FILTERS, shown=shown if shown in JOB_FILTERS else "",
        since_default=(date.today() - timedelta(days=30)).isoformat(), today=date.today().isoformat(),
        active=any(r.state in ACTIVE_STATES for r in recent),
        notice=session.pop("admin_notice", None), errors=g.get("bulk_errors") or [],
        form=request.form), g.get("jobs_status", 200)


@bp.get("/crm/admin/jobs/<int:job_id>")
def admin_job(job_id: int):
    """One job: its progress bar while it runs, then what it did."""
    row = tenant_job(job_id)
    return render_template("crm/admin_job.html", job=job_view(row, users_of([row])), refresh_s=REFRESH_S,
                           notice=session.pop("admin_notice", None))


@bp.get("/crm/admin/jobs/<int:job_id>/progress")
def admin_job_progress(job_id: int):
    """The job's progress as JSON, for job_progress.js."""
    row = tenant_job(job_id)
    return jsonify({**job_progress(row), "id": row.id, "percent": percent(row), "text": progress_text(row),
                    "active": row.state in ACTIVE_STATES})


@bp.post("/crm/admin/jobs/<int:job_id>/retry")
def admin_retry(job_id: int):
    """Queues a failed job again (it resumes where it stopped)."""
    row = tenant_job(job_id)
    if retry_job(row.id, tenant_id=row.tenant_id, app=current_app._get_current_object()):
        session["admin_notice"] = f"{job_title(row)} is queued again."
    else:
        session["admin_notice"] = f"{job_title(row)} has not failed, so there is nothing to retry."
    return redirect(url_for("web.admin_job", job_id=row.id), code=303)


@bp.post("/crm/admin/bulk-sync")
def admin_bulk_sync():
    """Starts a bulk sync of a folder of the admin's own mailbox (as POST /api/v1/bulk-sync)."""
    user = admin_user()
    folder = request.form.get("folder", "")
    errors = []
    if folder not in BULK_FOLDERS:
        errors.append("Choose Inbox or Sent Items.")
    try:
        since = date.fromisoformat(request.form.get("since", ""))
        if since > datetime.now(timezone.utc).date():
            errors.append("The since-date is in the future.")
    except ValueError:
        since = None
        errors.append("Give the since-date as a date (YYYY-MM-DD).")
    if errors:
        g.bulk_errors = errors
        g.jobs_status = 400
        return admin_jobs()
    job_id = enqueue_bulk(current_app._get_current_object(), user, folder, since)
    return redirect(url_for("web.admin_job", job_id=job_id), code=303)
