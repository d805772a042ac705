"""Bulk sync: file a folder's mail since a date, as a background job."""

from __future__ import annotations

import re
from datetime import date

from flask import current_app

from server.api import Blueprint
from server.auth import require_auth
from server.errors import ApiError
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.jobs import BulkSyncSchema, JobIdSchema
from server.sync.bulk import enqueue_bulk

bp = Blueprint("bulk_sync", __name__, url_prefix="/api/v1", description="Bulk sync of a folder")


@bp.post("/bulk-sync")
@require_auth
@bp.arguments(BulkSyncSchema)
@bp.response(202, JobIdSchema)
@bp.doc(security=SECURITY)
def bulk_sync(body):
    """File a folder's mail received since a date, in the background."""
    if body["since"] > date.today():
        raise ApiError(400, "invalid_since", "The since-date is in the future.")
    mailbox = current_mailbox()
    folder = body["folder"].lower() if re.fullmatch(r"[a-z]+", body["folder"], re.I) else body["folder"]
    job_id = enqueue_bulk(current_app._get_current_object(), mailbox.user, folder, body["since"])
    return {"job_id": job_id}
