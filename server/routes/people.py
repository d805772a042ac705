"""People: the CRM contacts of the addresses on a message being written, and a CRM
contact made for one of them."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.people import (
    MatchRequestSchema,
    MatchSchema,
    RecipientContactRequestSchema,
    RecipientContactSchema,
)
from server.sync.recipient_contacts import create_crm_contact_for_address
from server.sync.view import match_people

bp = Blueprint("people", __name__, url_prefix="/api/v1/people", description="People and their CRM contacts")


@bp.post("/match")
@require_auth
@bp.arguments(MatchRequestSchema)
@bp.response(200, MatchSchema)
@bp.doc(security=SECURITY)
def match(body):
    """Match addresses to CRM contacts as the message view does (the compose pane calls
    it once per change of the recipients)."""
    return {"people": match_people(current_mailbox(), body["addresses"])}


@bp.post("/contacts")
@require_auth
@bp.arguments(RecipientContactRequestSchema)
@bp.response(200, RecipientContactSchema)
@bp.doc(security=SECURITY)
def create_contact(body):
    """Create a CRM contact from an address and a display name alone (a recipient of a
    message being written). An address a CRM contact already has answers that contact,
    `created` false, so a double click makes one contact."""
    return create_crm_contact_for_address(
        current_mailbox(), body["address"], name=body["name"], company=body.get("company")
    )
