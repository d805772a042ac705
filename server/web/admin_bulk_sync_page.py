"""Bulk sync from the admin's jobs page (POST /crm/admin/bulk-sync): files a folder
of the admin's own mailbox since a date, as POST /api/v1/bulk-sync does; a form
error shows the jobs page again with what to fix. Admin only."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app, g, redirect, request, url_for
from flask_babel import gettext

from server.sync.app_access import is_refused
from server.sync.bulk import enqueue_bulk
from server.web.admin_access import admin_user
from server.web.admin_jobs_page import admin_jobs
from server.web.blueprint import bp
from server.web.job_display import BULK_FOLDERS


@bp.post("/crm/admin/bulk-sync")
def admin_bulk_sync():
    """Starts a bulk sync of a folder of the admin's own mailbox (as POST /api/v1/bulk-sync)."""
    user = admin_user()
    folder = request.form.get("folder", "")
    errors = []
    if is_refused(user):
        errors.append(
            gettext(
                "Automatic sync is not allowed for your mailbox by your organisation, so bulk sync cannot read "
                "it. Sync emails one at a time from the pane instead."
            )
        )
    if folder not in BULK_FOLDERS:
        errors.append(gettext("Choose Inbox or Sent Items."))
    try:
        since = date.fromisoformat(request.form.get("since", ""))
        if since > datetime.now(UTC).date():
            errors.append(gettext("The since-date is in the future."))
    except ValueError:
        since = None
        errors.append(gettext("Give the since-date as a date (YYYY-MM-DD)."))
    if errors:
        g.bulk_errors = errors
        g.jobs_status = 400
        return admin_jobs()
    job_id = enqueue_bulk(current_app._get_current_object(), user, folder, since)
    return redirect(url_for("web.admin_job", job_id=job_id), code=303)
