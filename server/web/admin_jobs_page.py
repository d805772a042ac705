"""The admin's jobs pages (/crm/admin/jobs...): the organization's recent jobs with a
filter, the failed ones with Retry, the mailboxes the organisation keeps the app out of
(automatic sync stops for them: server/sync/app_access.py), one job with its progress,
and that progress as JSON.

Admin only; a job of another tenant is 404. Everything works with plain form
posts, and a job's page refreshes itself (<noscript> meta refresh) while the job
runs; with scripts on, static/job_progress.js polls the progress instead (on the
job page and for the running jobs of the list) and reloads the job page when the
job ends.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from server.crm import audit
from server.crm.models import SyncJob, User
from server.db import db_session
from server.jobs.queue import retry_job
from server.jobs.status import get_job, job_progress, list_failed_jobs
from server.web.admin_access import admin_user
from server.web.blueprint import bp
from server.web.job_display import (
    ACTIVE_STATES,
    BULK_FOLDERS,
    job_title,
    job_view,
    percent,
    progress_text,
    users_of,
)

RECENT_JOBS = 50
REFRESH_S = 3
# The jobs list's filters: query value -> (label, kinds).
JOB_FILTERS = {
    "imports": (lazy_gettext("Imports"), ("crm_import",)),
    "bulk": (lazy_gettext("Bulk syncs"), ("bulk",)),
    "automatic": (lazy_gettext("Automatic sync"), ("message", "delta", "subscriptions", "lifecycle")),
}


def tenant_job(job_id: int) -> SyncJob:
    """A job of the admin's tenant, or 404 (also for another tenant's job)."""
    row = get_job(db_session(), job_id)
    if row is None or row.tenant_id != admin_user().tenant_id:
        abort(404)
    return row


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
    out_of_scope = list(
        db.scalars(
            select(User)
            .where(User.tenant_id == user.tenant_id, User.app_access_refused_at.is_not(None))
            .order_by(User.display_name, User.upn)
        )
    )
    return render_template(
        "crm/admin_jobs.html",
        jobs=[job_view(r, users) for r in recent],
        failed=[job_view(r, users) for r in failed_rows],
        out_of_scope=out_of_scope,
        folders=BULK_FOLDERS,
        filters=JOB_FILTERS,
        shown=shown if shown in JOB_FILTERS else "",
        since_default=(date.today() - timedelta(days=30)).isoformat(),
        today=date.today().isoformat(),
        active=any(r.state in ACTIVE_STATES for r in recent),
        notice=session.pop("admin_notice", None),
        errors=g.get("bulk_errors") or [],
        form=request.form,
    ), g.get("jobs_status", 200)


@bp.get("/crm/admin/jobs/<int:job_id>")
def admin_job(job_id: int):
    """One job: its progress bar while it runs, then what it did."""
    row = tenant_job(job_id)
    return render_template(
        "crm/admin_job.html",
        job=job_view(row, users_of([row])),
        refresh_s=REFRESH_S,
        notice=session.pop("admin_notice", None),
    )


@bp.get("/crm/admin/jobs/<int:job_id>/progress")
def admin_job_progress(job_id: int):
    """The job's progress as JSON, for job_progress.js."""
    row = tenant_job(job_id)
    return jsonify(
        {
            **job_progress(row),
            "id": row.id,
            "percent": percent(row),
            "text": progress_text(row),
            "active": row.state in ACTIVE_STATES,
        }
    )


@bp.post("/crm/admin/jobs/<int:job_id>/retry")
def admin_retry(job_id: int):
    """Queues a failed job again (it resumes where it stopped)."""
    row = tenant_job(job_id)
    actor = audit.Actor.of(admin_user())
    job = {"kind": row.kind, **(row.params or {})}

    def record(session, retried: int) -> None:
        audit.record(session, row.tenant_id, actor, audit.JOB_RETRIED, target=("job", retried), after=job)

    if retry_job(row.id, tenant_id=row.tenant_id, app=current_app._get_current_object(), also=record):
        session["admin_notice"] = gettext("%(job)s is queued again.", job=job_title(row))
    else:
        session["admin_notice"] = gettext("%(job)s has not failed, so there is nothing to retry.", job=job_title(row))
    return redirect(url_for("web.admin_job", job_id=row.id), code=303)
