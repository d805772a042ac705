"""Bulk sync and job progress."""
from __future__ import annotations

import re
from datetime import date

import marshmallow as ma
from flask import current_app

from server.api import Blueprint
from server.auth import require_auth
from server.db import db_session
from server.errors import ApiError
from server.routes.request_mailbox import current_mailbox
from server.sync.bulk import enqueue_bulk
from server.sync.jobs import get_job, job_progress

bp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Bulk sync and background jobs")

# Well-known folder names or Graph folder ids (URL-safe base64).
FOLDER = ma.validate.Regexp(r"^[A-Za-z0-9_\-=]{1,512}$", error="Not a folder name or id.")


class BulkSyncSchema(ma.Schema):
    folder = ma.fields.String(required=True, validate=FOLDER)
    since = ma.fields.Date(required=True)


class JobIdSchema(ma.Schema):
    job_id = ma.fields.Integer(required=True)


class ProgressSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    state = ma.fields.String(required=True)
    done = ma.fields.Integer(required=True)
    total = ma.fields.Integer(allow_none=True, required=True)
    failed = ma.fields.Integer(required=True)
    eta_s = ma.fields.Float(allow_none=True, required=True)
    error = ma.fields.String()


@bp.post("/bulk-sync")
@require_auth
@bp.arguments(BulkSyncSchema)
@bp.response(202, JobIdSchema)
@bp.doc(security=[{"bearerAuth": []}])
def bulk_sync(body):
    """File a folder's mail received since a date, in the background."""
    if body["since"] > date.today():
        raise ApiError(400, "invalid_since", "The since-date is in the future.")
    mailbox = current_mailbox()
    folder = body["folder"].lower() if re.fullmatch(r"[a-z]+", body["folder"], re.I) else body["folder"]
    job_id = enqueue_bulk(current_app._get_current_object(), mailbox.user, folder, body["since"])
    return {"job_id": job_id}


@bp.get("/jobs/<int:job_id>")
@require_auth
@bp.response(200, ProgressSchema)
@bp.doc(security=[{"bearerAuth": []}])
def progress(job_id):
    """Show a job's progress: state, done, total, failed and ETA."""
    mailbox = current_mailbox()
    row = get_job(db_session(), job_id)
    if row is None or row.tenant_id != mailbox.tenant_id or row.user_id != mailbox.user.id:
        raise ApiError(404, "job_not_found", "There is no such job of yours.")
    return {**job_progress(row), "id": row.id, "kind": row.kind, "error": row.error}
