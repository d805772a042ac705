"""Sent messages: the Sent Items copy of a message the add-in's send handler could not
file (the CRM was unreachable), found from its subject, recipients and time, so the
pane's "File now" can file it through POST /messages/{id}/sync."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.sent_messages import SentMessagesSchema, SentQuerySchema
from server.sync.sent_messages import find_sent

bp = Blueprint("sent_messages", __name__, url_prefix="/api/v1/sent-messages", description="Finding a message you sent")


@bp.get("")
@require_auth
@bp.arguments(SentQuerySchema, location="query")
@bp.response(200, SentMessagesSchema)
@bp.doc(security=SECURITY)
def find(args):
    """Your Sent Items messages with this subject and these recipients, sent at or after
    (a little before, for clocks that differ) `sent_at`: the closest in time first."""
    return {"messages": find_sent(current_mailbox(), args["subject"], args["sent_at"], args["to"])}
