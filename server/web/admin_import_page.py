"""The admin's contact import page (/crm/admin/import): the upload form with the
latest imports, and the upload, which stores the CSV or vCard file and starts its
import job. Admin only."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext
from sqlalchemy import select

from server.crm.models import SyncJob
from server.db import db_session
from server.request_limits import upload_limit
from server.sync.import_job import KIND as IMPORT_KIND
from server.sync.import_job import (
    UploadTooLarge,
    accepted_extension,
    enqueue_import,
    save_upload,
)
from server.web.admin_access import admin_only, admin_user
from server.web.blueprint import bp
from server.web.job_display import job_view, users_of


def import_page(status: int = 200, error: str | None = None):
    user = admin_user()
    recent = list(
        db_session().scalars(
            select(SyncJob)
            .where(SyncJob.tenant_id == user.tenant_id, SyncJob.kind == IMPORT_KIND)
            .order_by(SyncJob.id.desc())
            .limit(10)
        )
    )
    users = users_of(recent)
    return render_template(
        "crm/admin_import.html",
        error=error,
        recent=[job_view(r, users) for r in recent],
        max_size=human_bytes(import_limit()),
    ), status


def import_limit() -> int:
    return int(current_app.config["IMPORT_MAX_BYTES"])


def human_bytes(size: int) -> str:
    if size >= 1024 * 1024:
        return gettext("%(size)s MB", size=format_decimal(float(f"{size / (1024 * 1024):.3g}")))
    if size >= 1024:
        return gettext("%(size)s KB", size=format_decimal(float(f"{size / 1024:.3g}")))
    return gettext("%(size)s bytes", size=size)


@bp.get("/crm/admin/import")
def admin_import():
    """The contact import's upload form and the latest imports."""
    return import_page()


@bp.post("/crm/admin/import")
@upload_limit("IMPORT_MAX_BYTES")
@admin_only
def admin_upload():
    """Stores an uploaded CSV or vCard file and starts its import job."""
    user = admin_user()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return import_page(400, gettext("Choose a CSV or vCard file to import."))
    if accepted_extension(upload.filename) is None:
        return import_page(400, gettext("Only CSV (.csv, .txt) and vCard (.vcf, .vcard) files can be imported."))
    limit = import_limit()
    try:
        stored, size = save_upload(current_app, upload.stream, upload.filename, limit)
    except UploadTooLarge:
        return import_page(
            413, gettext("The file is larger than %(size)s. Split it and import the parts.", size=human_bytes(limit))
        )
    if size == 0:
        return import_page(400, gettext("The file is empty."))
    job_id = enqueue_import(current_app._get_current_object(), user, stored, upload.filename, size)
    return redirect(url_for("web.admin_job", job_id=job_id), code=303)
