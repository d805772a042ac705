"""CRM contacts (and companies) created from the people on a message, the message
optionally filed and linked to them."""

from __future__ import annotations

from server.api import Blueprint, ErrorSchema
from server.auth import require_auth
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.contacts import SenderContactResultSchema, SenderContactSchema
from server.routes.schemas.messages import checked_message_id
from server.sync.mailbox import prepare_mailbox
from server.sync.sender_contacts import create_crm_contact_from_message

bp = Blueprint(
    "sender_contacts", __name__, url_prefix="/api/v1", description="CRM contacts from the people on a message"
)


@bp.post("/messages/<message_id>/contacts")
@require_auth
@bp.arguments(SenderContactSchema)
@bp.response(200, SenderContactResultSchema)
@bp.doc(security=SECURITY)
@bp.alt_response(404, schema=ErrorSchema, description="No such message in your mailbox")
def create_from_sender(body, message_id):
    """Create a CRM contact (and company) for a person on the message; optionally file and link the message."""
    checked_message_id(message_id)
    mailbox = current_mailbox()
    if body["link_email"]:
        prepare_mailbox(mailbox)
    return create_crm_contact_from_message(
        mailbox,
        message_id,
        body["address"],
        name=body.get("name"),
        company=body.get("company"),
        job_title=body.get("job_title"),
        phone=body.get("phone"),
        link=body["link_email"],
    )
