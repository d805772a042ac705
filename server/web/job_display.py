"""What the admin pages show of a background job, in words: its title, state,
progress line and percentage, and what its last error means."""

from __future__ import annotations

from flask_babel import format_decimal, format_number, gettext, lazy_gettext, ngettext
from sqlalchemy import select

from server.crm.models import SyncJob, User
from server.db import db_session
from server.jobs.status import job_progress
from server.sync.import_job import KIND as IMPORT_KIND

ACTIVE_STATES = ("queued", "running", "retrying")
BULK_FOLDERS = {"inbox": lazy_gettext("Inbox"), "sentitems": lazy_gettext("Sent Items")}
STATE_LABELS = {
    "queued": lazy_gettext("Waiting to start"),
    "running": lazy_gettext("Running"),
    "retrying": lazy_gettext("Failed, will retry"),
    "done": lazy_gettext("Finished"),
    "failed": lazy_gettext("Failed"),
}
KIND_LABELS = {
    "delta": lazy_gettext("Catch-up of new mail"),
    "message": lazy_gettext("New mail notification"),
    "subscriptions": lazy_gettext("Change-notification upkeep"),
    "lifecycle": lazy_gettext("Subscription event"),
}
# A job's last error is stored as "ExceptionName: message"; what each means, in words.
ERROR_EXPLANATIONS = {
    "UploadMissing": lazy_gettext("The uploaded file is no longer on the server. Upload the file again."),
    "ImportAborted": lazy_gettext(
        "The import stopped part-way; every row before that point is saved. "
        "Retry to finish it (no contact is duplicated)."
    ),
    "MailboxOutOfScope": lazy_gettext(
        "Automatic sync is not allowed for this mailbox by your organisation: Microsoft 365 keeps the app out "
        "of it. An Exchange administrator can add the mailbox to the app's scope; then run Test connection "
        "on the settings page. The user's own commands in the pane still work."
    ),
    "Unauthorized": lazy_gettext("Microsoft 365 refused the app's token. Run Test connection on the settings page."),
    "AccessDenied": lazy_gettext(
        "Microsoft 365 denied access to the mailbox: the app may lack admin consent. "
        "Run Test connection on the settings page."
    ),
    "NotFound": lazy_gettext("Microsoft 365 did not find the mailbox or folder."),
    "Throttled": lazy_gettext("Microsoft 365 asked us to slow down. Retry in a few minutes."),
    "Unavailable": lazy_gettext("Microsoft 365 was unavailable. Retry in a few minutes."),
    "GraphTimeout": lazy_gettext("Microsoft 365 did not answer in time. Retry in a few minutes."),
    "GraphError": lazy_gettext("Microsoft 365 answered with an error."),
    "ConnectionError": lazy_gettext("Microsoft 365 could not be reached. Retry in a few minutes."),
    "OperationalError": lazy_gettext("The CRM database was unavailable. Retry in a few minutes."),
}
# Errors whose message is already the plain sentence to show (why, and what to do).
PLAIN_ERRORS = {"ImportRefused"}


# A bulk sync's summary (its cursor's "summary", sync/automatic.py Outcome), in words,
# each outcome on its own line: what "N messages" alone would hide.
SUMMARY_LABELS = (
    ("filed", lazy_gettext("Filed")),
    ("already_filed", lazy_gettext("Already filed")),
    ("marked", lazy_gettext("Skipped: marked synced or \u201cDon\u2019t sync to CRM\u201d")),
    ("no_contact", lazy_gettext("Skipped: no CRM contact on it")),
    ("never_sync", lazy_gettext("Skipped: on the never-sync list")),
    ("skipped", lazy_gettext("Skipped: other (deleted meanwhile)")),
    ("failed", lazy_gettext("Failed")),
    ("contacts_created", lazy_gettext("CRM contacts created for unknown senders")),
)


def sync_summary(row: SyncJob) -> list[tuple[str, int]]:
    """(label, count) of a sync job's summary; empty when it has none (older jobs)."""
    summary = (row.cursor or {}).get("summary")
    if not isinstance(summary, dict):
        return []
    shown = []
    for key, label in SUMMARY_LABELS:
        count = int(summary.get(key) or 0)
        if key == "failed":
            count = max(count, row.failed or 0)
        if count or key in ("filed", "already_filed", "marked", "no_contact", "failed"):
            shown.append((label, count))
    return shown


def job_title(row: SyncJob) -> str:
    params = row.params or {}
    if row.kind == IMPORT_KIND:
        if params.get("name"):
            return gettext("Import of %(name)s", name=params["name"])
        return gettext("Import of a file")
    if row.kind == "bulk":
        folder = str(BULK_FOLDERS.get(params.get("folder", ""), params.get("folder") or gettext("a folder")))
        return gettext(
            "Bulk sync of %(folder)s since %(since)s", folder=folder, since=str(params.get("since", ""))[:10]
        )
    return str(KIND_LABELS.get(row.kind, row.kind))


def explain_error(error: str) -> tuple[str, str]:
    """(plain words, the stored detail) for a job's last error."""
    if not error:
        return "", ""
    name, _, detail = error.partition(": ")
    if name in PLAIN_ERRORS:
        return detail, ""
    words = ERROR_EXPLANATIONS.get(name)
    if words is None:
        return gettext("Unexpected error: %(detail)s", detail=detail or name), error
    return str(words), detail


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
    state = str(STATE_LABELS.get(row.state, row.state))
    if row.state == "queued" and not row.done:
        return state
    if refusal(row):
        return f"{state}: {refusal(row)}"
    if row.kind == IMPORT_KIND:
        rows = int((row.cursor or {}).get("rows") or 0)
        share = percent(row)
        text = ngettext("%(count)s row read", "%(count)s rows read", rows, count=format_number(rows))
        if share is not None:
            text += " " + gettext("(%(share)s %% of the file)", share=share)
    else:
        if row.total is not None:
            text = ngettext(
                "%(done)s of %(count)s message",
                "%(done)s of %(count)s messages",
                row.total,
                done=format_number(row.done),
                count=format_number(row.total),
            )
        else:
            text = ngettext("%(count)s message", "%(count)s messages", row.done, count=format_number(row.done))
        if row.failed:
            text += ", " + gettext("%(count)s failed", count=format_number(row.failed))
    if row.state == "running" and shown["eta_s"]:
        text += ", " + gettext("about %(duration)s left", duration=human_duration(shown["eta_s"]))
    return f"{state}: {text}"


def human_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return gettext("%(count)s s", count=max(1, seconds))
    if seconds < 5400:
        return gettext("%(count)s min", count=round(seconds / 60))
    return gettext("%(count)s h", count=format_decimal(round(seconds / 3600, 1), format="0.0"))


def job_view(row: SyncJob, users: dict[int, User]) -> dict:
    user = users.get(row.user_id) if row.user_id else None
    words, detail = explain_error(row.error)
    return {
        "id": row.id,
        "kind": row.kind,
        "title": job_title(row),
        "state": row.state,
        "state_label": str(STATE_LABELS.get(row.state, row.state)),
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
        "summary": sync_summary(row),
        "params": dict(row.params or {}),
    }


def users_of(rows) -> dict[int, User]:
    ids = {r.user_id for r in rows if r.user_id}
    if not ids:
        return {}
    return {u.id: u for u in db_session().scalars(select(User).where(User.id.in_(ids)))}
