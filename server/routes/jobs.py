"""Background jobs: a job's progress, for the user who started it."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.db import db_session
from server.errors import ApiError
from server.jobs.status import get_job, job_progress
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.jobs import ProgressSchema

SYNC_KINDS = ("bulk", "delta")  # jobs whose cursor holds a sync summary

bp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Background jobs")


@bp.get("/jobs/<int:job_id>")
@require_auth
@bp.response(200, ProgressSchema)
@bp.doc(security=SECURITY)
def progress(job_id):
    """Show a job's progress: state, done, total, failed and ETA."""
    mailbox = current_mailbox()
    row = get_job(db_session(), job_id)
    if row is None or row.tenant_id != mailbox.tenant_id or row.user_id != mailbox.user.id:
        raise ApiError(404, "job_not_found", "There is no such job of yours.")
    answer = {**job_progress(row), "id": row.id, "kind": row.kind, "error": row.error}
    summary = (row.cursor or {}).get("summary")
    if row.kind in SYNC_KINDS and isinstance(summary, dict):
        answer["summary"] = summary
    return answer
