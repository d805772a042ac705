"""Messages: open (what the pane shows), sync, mark synced/unsynced, batch sync."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.messages import (
    BatchSyncResultSchema,
    BatchSyncSchema,
    MessageSchema,
    OpenArgsSchema,
    StateSchema,
    checked_message_id,
)
from server.sync.delta import request_catch_up
from server.sync.file_message import sync_message, sync_messages
from server.sync.mailbox import prepare_mailbox
from server.sync.marks import set_mark
from server.sync.time_zones import refresh_time_zone
from server.sync.view import open_message

bp = Blueprint("messages", __name__, url_prefix="/api/v1/messages", description="Outlook messages and their CRM state")


@bp.get("/<message_id>")
@require_auth
@bp.arguments(OpenArgsSchema, location="query")
@bp.response(200, MessageSchema)
@bp.doc(security=SECURITY)
def get(args, message_id):
    """Show a message's CRM state and the people on it."""
    mailbox = current_mailbox()
    request_catch_up(mailbox.me)  # the pane opened: catch up with what notifications missed
    refresh_time_zone(mailbox)  # the CRM pages show times in the mailbox's zone
    return open_message(mailbox, checked_message_id(message_id), args["people"])


@bp.post("/<message_id>/sync")
@require_auth
@bp.response(200, MessageSchema)
@bp.doc(security=SECURITY)
def sync(message_id):
    """File the message in the CRM and mark it synced (idempotent)."""
    mailbox = current_mailbox()
    prepare_mailbox(mailbox)
    return sync_message(mailbox, checked_message_id(message_id))


@bp.post("/<message_id>/state")
@require_auth
@bp.arguments(StateSchema)
@bp.response(200, MessageSchema)
@bp.doc(security=SECURITY)
def mark(body, message_id):
    """Mark the message synced (never file it) or unsynced (file it on the next round)."""
    mailbox = current_mailbox()
    prepare_mailbox(mailbox)
    return set_mark(mailbox, checked_message_id(message_id), body["state"])


@bp.post("/batch-sync")
@require_auth
@bp.arguments(BatchSyncSchema)
@bp.response(200, BatchSyncResultSchema)
@bp.doc(security=SECURITY)
def batch_sync(body):
    """Sync up to 100 messages; answers per id."""
    mailbox = current_mailbox()
    prepare_mailbox(mailbox)
    return {"results": sync_messages(mailbox, body["ids"])}
