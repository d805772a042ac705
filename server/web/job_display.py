"""What the admin pages show of a background job, in words: its title, state,
progress line and percentage, and what its last error means."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import SyncJob, User
from server.db import db_session
from server.jobs.status import job_progress
from server.sync.import_job import KIND as IMPORT_KIND

ACTIVE_STATES = ("queued", "running", "retrying")
BULK_FOLDERS = {"inbox": "Inbox", "sentitems": "Sent Items"}
STATE_LABELS = {
    "queued": "Waiting to start",
    "running": "Running",
    "retrying": "Failed, will retry",
    "done": "Finished",
    "failed": "Failed",
}
KIND_LABELS = {
    "delta": "Catch-up of new mail",
    "message": "New mail notification",
    "subscriptions": "Change-notification upkeep",
    "lifecycle": "Subscription event",
}
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
# Errors whose message is already the plain sentence to show (why, and what to do).
PLAIN_ERRORS = {"ImportRefused"}


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
    if name in PLAIN_ERRORS:
        return detail, ""
    words = ERROR_EXPLANATIONS.get(name)
    if words is None:
        return f"Unexpected error: {detail or name}", error
    return words, detail


def refusal(row: SyncJob) -> str:
    """Why the import refused the job's file, in one sentence ("" when it did not)."""
    if row.kind != IMPORT_KIND:
        return ""
    return str((row.cursor or {}).get("refused") or "")


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
    if refusal(row):
        return f"{state}: {refusal(row)}"
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
    seconds = round(seconds)
    if seconds < 90:
        return f"{max(1, seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def job_view(row: SyncJob, users: dict[int, User]) -> dict:
    user = users.get(row.user_id) if row.user_id else None
    words, detail = explain_error(row.error)
    return {
        "id": row.id,
        "kind": row.kind,
        "title": job_title(row),
        "state": row.state,
        "state_label": STATE_LABELS.get(row.state, row.state),
        "active": row.state in ACTIVE_STATES,
        "done": row.done,
        "total": row.total,
        "failed": row.failed,
        "percent": percent(row),
        "text": progress_text(row),
        "attempts": row.attempts,
        "error": words,
        "error_detail": detail,
        "refused": refusal(row),
        "who": (user.display_name or user.upn) if user else "",
        "requested_at": row.created_at,
        "finished_at": row.finished_at,
        "cursor": dict(row.cursor or {}),
        "params": dict(row.params or {}),
    }


def users_of(rows) -> dict[int, User]:
    ids = {r.user_id for r in rows if r.user_id}
    if not ids:
        return {}
    return {u.id: u for u in db_session().scalars(select(User).where(User.id.in_(ids)))}
