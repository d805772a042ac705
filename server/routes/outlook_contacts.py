"""Outlook contacts: create from an address, and keep each in sync with its CRM
contact (sync, link, refresh, the CRM page)."""

from __future__ import annotations

import marshmallow as ma

from server.api import Blueprint, ErrorSchema
from server.auth import require_auth
from server.domain_errors import DomainError
from server.errors import ApiError, domain_api_error
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.contacts import (
    ContactSyncSchema,
    LinkSchema,
    NewOutlookContactSchema,
    OutlookContactSchema,
    RefreshResultsSchema,
    RefreshSchema,
    UrlSchema,
)
from server.routes.schemas.messages import MESSAGE_ID
from server.sync.errors import api_error_for
from server.sync.outlook_contact_sync import (
    ContactSync,
    create_outlook_contact,
    link_outlook_contact,
    refresh_linked_contacts,
    sync_outlook_contact,
)

bp = Blueprint(
    "outlook_contacts",
    __name__,
    url_prefix="/api/v1",
    description="Outlook contacts and their CRM contacts, kept in sync both ways",
)

NOT_FOUND = dict(schema=ErrorSchema, description="No such Outlook contact (or CRM contact) of yours")


def _checked(item_id: str) -> str:
    try:
        MESSAGE_ID(item_id)
    except ma.ValidationError:
        raise ApiError(400, "invalid_contact_id", "That is not a valid Outlook contact id.") from None
    return item_id


@bp.post("/outlook-contacts")
@require_auth
@bp.arguments(NewOutlookContactSchema)
@bp.response(200, OutlookContactSchema)
@bp.doc(security=SECURITY)
@bp.alt_response(
    400,
    schema=ErrorSchema,
    description=(
        "own_address: the address is one of yours; no_external_recipient: a message you sent "
        "went to nobody outside your organisation; invalid_address"
    ),
)
@bp.alt_response(
    503,
    schema=ErrorSchema,
    description=(
        "Another request (the ribbon, another window) is creating this contact right now; "
        "retry after retry_after seconds and get its contact"
    ),
)
def create(body):
    """Create an Outlook contact from an address and name (the existing one if any); never for your own address."""
    return create_outlook_contact(current_mailbox(), body["address"], body["name"], message_id=body.get("message_id"))


@bp.post("/outlook-contacts/<contact_id>/sync")
@require_auth
@bp.response(200, ContactSyncSchema)
@bp.doc(security=SECURITY)
@bp.alt_response(404, **NOT_FOUND)
def sync(contact_id):
    """Sync an Outlook contact with the CRM (creating the CRM contact if needed)."""
    mailbox = current_mailbox()
    return sync_outlook_contact(mailbox, _checked(contact_id)).as_json(mailbox)


@bp.post("/outlook-contacts/<contact_id>/link")
@require_auth
@bp.arguments(LinkSchema)
@bp.response(200, ContactSyncSchema)
@bp.doc(security=SECURITY)
@bp.alt_response(404, **NOT_FOUND)
def link(body, contact_id):
    """Link an Outlook contact with an existing CRM contact and sync them."""
    mailbox = current_mailbox()
    return link_outlook_contact(mailbox, _checked(contact_id), body["crm_contact_id"]).as_json(mailbox)


@bp.post("/outlook-contacts/refresh")
@require_auth
@bp.arguments(RefreshSchema)
@bp.response(200, RefreshResultsSchema)
@bp.doc(security=SECURITY)
def refresh(body):
    """Two-way sync of those of these Outlook contacts that are linked (e.g. on the pane's open)."""
    mailbox = current_mailbox()
    results = []
    for outlook_id, outcome in refresh_linked_contacts(mailbox, body["ids"]).items():
        if isinstance(outcome, ContactSync):
            results.append({"id": outlook_id, "ok": True, "result": outcome.as_json(mailbox)})
        else:
            error = domain_api_error(outcome) if isinstance(outcome, DomainError) else api_error_for(outcome)
            results.append({"id": outlook_id, "ok": False, "error": error.to_dict()["error"]})
    return {"results": results}


@bp.get("/outlook-contacts/<contact_id>/crm-url")
@require_auth
@bp.response(200, UrlSchema)
@bp.doc(security=SECURITY)
@bp.alt_response(404, **NOT_FOUND)
def crm_url(contact_id):
    """The CRM page of an Outlook contact (syncs first)."""
    mailbox = current_mailbox()
    result = sync_outlook_contact(mailbox, _checked(contact_id))
    return {"url": mailbox.links.contact(result.crm_contact.id), "crm_contact_id": result.crm_contact.id}
