"""Contacts both ways: Outlook contacts from senders, their sync and link with CRM
contacts, CRM contacts from senders, and the search the link dialog uses."""
from __future__ import annotations

import marshmallow as ma

from server.api import Blueprint, ErrorSchema
from server.auth import require_auth
from server.crm.contacts import SEARCH_LIMIT, search_contacts
from server.crm.outlook_links import is_linked_in_outlook
from server.errors import ApiError
from server.graph.errors import GraphError, NotFound
from server.routes.current import current_mailbox, prepare_for_writes
from server.routes.messages import MESSAGE_ID, CompanySchema, MessageSchema, ResultErrorSchema
from server.sync.outlook_contact_sync import (ContactBeingCreated, create_outlook_contact,
                                              link_outlook_contact, refresh_linked_contacts,
                                              sync_outlook_contact)
from server.sync.sender_contacts import create_crm_contact_from_message
from server.sync.errors import api_error_for

bp = Blueprint("outlook_contacts", __name__, url_prefix="/api/v1",
               description="Outlook contacts and their CRM contacts, kept in sync both ways")

ADDRESS = ma.validate.Length(min=3, max=320)
REFRESH_LIMIT = 20
NOT_FOUND = dict(schema=ErrorSchema, description="No such Outlook contact (or CRM contact) of yours")


def _checked(item_id: str) -> str:
    try:
        MESSAGE_ID(item_id)
    except ma.ValidationError:
        raise ApiError(400, "invalid_contact_id", "That is not a valid Outlook contact id.")
    return item_id


def _contact_error(error: GraphError) -> ApiError:
    if isinstance(error, NotFound):
        return ApiError(404, "outlook_contact_not_found",
                        "This contact was not found in your Outlook contacts. It may have been deleted.")
    return api_error_for(error)


def _contact_call(call, *args, **kwargs):
    """Runs a sync call, turning Graph and lookup failures into the API's words."""
    try:
        return call(*args, **kwargs)
    except GraphError as error:
        raise _contact_error(error) from error
    except LookupError as error:
        raise ApiError(404, "crm_contact_not_found", "That CRM contact does not exist.") from error
    except ValueError as error:
        raise ApiError(400, "invalid_address", "That is not a valid email address.") from error
    except ContactBeingCreated as error:
        raise ApiError(503, "contact_being_created",
                       "This contact is being created in Outlook right now. Retry in a moment.",
                       retry_after=error.retry_after) from error


class NewOutlookContactSchema(ma.Schema):
    address = ma.fields.String(required=True, validate=ADDRESS)
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=512))


class OutlookContactSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "Immutable Graph id of the Outlook contact"})
    created = ma.fields.Boolean(required=True, metadata={"description": "False: one with that address existed"})
    display_name = ma.fields.String()
    address = ma.fields.String(allow_none=True)
    crm_contact_id = ma.fields.Integer(allow_none=True)


class LinkSchema(ma.Schema):
    crm_contact_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class ContactSyncSchema(ma.Schema):
    crm_contact_id = ma.fields.Integer(required=True)
    crm_url = ma.fields.String(required=True)
    created = ma.fields.Boolean(required=True, metadata={"description": "The CRM contact was created now"})
    outlook_contact_id = ma.fields.String()
    name = ma.fields.String()
    updated_in_outlook = ma.fields.List(ma.fields.String())
    updated_in_crm = ma.fields.List(ma.fields.String())
    conflicts = ma.fields.List(ma.fields.String(), metadata={
        "description": "Fields changed on both sides; the later modification won"})


class RefreshSchema(ma.Schema):
    ids = ma.fields.List(ma.fields.String(validate=MESSAGE_ID), required=True,
                         validate=ma.validate.Length(min=1, max=REFRESH_LIMIT),
                         metadata={"description": "Outlook contact ids (e.g. the people's outlook_contact_id)"})


class RefreshResultSchema(ma.Schema):
    id = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    result = ma.fields.Nested(ContactSyncSchema)
    error = ma.fields.Nested(ResultErrorSchema)


class RefreshResultsSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(RefreshResultSchema), required=True, metadata={
        "description": "One per linked contact; ids not linked to a CRM contact are left out"})


class UrlSchema(ma.Schema):
    url = ma.fields.String(required=True)
    crm_contact_id = ma.fields.Integer()


class SearchArgsSchema(ma.Schema):
    q = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    limit = ma.fields.Integer(load_default=SEARCH_LIMIT, validate=ma.validate.Range(min=1, max=SEARCH_LIMIT))


class FoundContactSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    job_title = ma.fields.String()
    emails = ma.fields.List(ma.fields.String(), required=True)
    company = ma.fields.Nested(CompanySchema, allow_none=True)
    url = ma.fields.String(required=True)
    linked_in_outlook = ma.fields.Boolean(metadata={"description": "Someone in the tenant linked it"})


class SearchResultSchema(ma.Schema):
    contacts = ma.fields.List(ma.fields.Nested(FoundContactSchema), required=True)


class SenderContactSchema(ma.Schema):
    address = ma.fields.String(required=True, validate=ADDRESS)
    name = ma.fields.String(validate=ma.validate.Length(max=512), metadata={
        "description": "Defaults to the name the message shows for the address"})
    company = ma.fields.String(validate=ma.validate.Length(max=256))
    job_title = ma.fields.String(validate=ma.validate.Length(max=256))
    phone = ma.fields.String(validate=ma.validate.Length(max=64))
    link_email = ma.fields.Boolean(load_default=False, metadata={
        "description": "True: \"Create and link the email\"; false: \"Create only\""})


class SenderContactResultSchema(ma.Schema):
    crm_contact_id = ma.fields.Integer(required=True)
    crm_url = ma.fields.String(required=True)
    created = ma.fields.Boolean(required=True,
                                metadata={"description": "False: a contact with the address existed"})
    name = ma.fields.String()
    company = ma.fields.Nested(CompanySchema, allow_none=True)
    crm_email_id = ma.fields.Integer(allow_none=True)
    message = ma.fields.Nested(MessageSchema, allow_none=True,
                               metadata={"description": "The message after filing (link_email only)"})


@bp.post("/outlook-contacts")
@require_auth
@bp.arguments(NewOutlookContactSchema)
@bp.response(200, OutlookContactSchema)
@bp.doc(security=[{"bearerAuth": []}])
@bp.alt_response(503, schema=ErrorSchema, description=(
    "Another request (the ribbon, another window) is creating this contact right now; "
    "retry after retry_after seconds and get its contact"))
def create(body):
    """Create an Outlook contact from an address and name (the existing one if any)."""
    return _contact_call(create_outlook_contact, current_mailbox(), body["address"], body["name"])


@bp.post("/outlook-contacts/<contact_id>/sync")
@require_auth
@bp.response(200, ContactSyncSchema)
@bp.doc(security=[{"bearerAuth": []}])
@bp.alt_response(404, **NOT_FOUND)
def sync(contact_id):
    """Sync an Outlook contact with the CRM (creating the CRM contact if needed)."""
    mailbox = current_mailbox()
    return _contact_call(sync_outlook_contact, mailbox, _checked(contact_id)).as_json(mailbox)


@bp.post("/outlook-contacts/<contact_id>/link")
@require_auth
@bp.arguments(LinkSchema)
@bp.response(200, ContactSyncSchema)
@bp.doc(security=[{"bearerAuth": []}])
@bp.alt_response(404, **NOT_FOUND)
def link(body, contact_id):
    """Link an Outlook contact with an existing CRM contact and sync them."""
    mailbox = current_mailbox()
    return _contact_call(link_outlook_contact, mailbox, _checked(contact_id),
                         body["crm_contact_id"]).as_json(mailbox)


@bp.post("/outlook-contacts/refresh")
@require_auth
@bp.arguments(RefreshSchema)
@bp.response(200, RefreshResultsSchema)
@bp.doc(security=[{"bearerAuth": []}])
def refresh(body):
    """Two-way sync of those of these Outlook contacts that are linked (e.g. on the pane's open)."""
    mailbox = current_mailbox()
    results = []
    for outlook_id, outcome in refresh_linked_contacts(mailbox, body["ids"]).items():
        if isinstance(outcome, GraphError):
            results.append({"id": outlook_id, "ok": False, "error": _contact_error(outcome).to_dict()["error"]})
        else:
            results.append({"id": outlook_id, "ok": True, "result": outcome.as_json(mailbox)})
    return {"results": results}


@bp.get("/outlook-contacts/<contact_id>/crm-url")
@require_auth
@bp.response(200, UrlSchema)
@bp.doc(security=[{"bearerAuth": []}])
@bp.alt_response(404, **NOT_FOUND)
def crm_url(contact_id):
    """The CRM page of an Outlook contact (syncs first)."""
    mailbox = current_mailbox()
    result = _contact_call(sync_outlook_contact, mailbox, _checked(contact_id))
    return {"url": mailbox.links.contact(result.crm_contact.id), "crm_contact_id": result.crm_contact.id}


@bp.get("/crm/contacts/search")
@require_auth
@bp.arguments(SearchArgsSchema, location="query")
@bp.response(200, SearchResultSchema)
@bp.doc(security=[{"bearerAuth": []}])
def search(args):
    """Find CRM contacts by the start of a name, address or company (best 20)."""
    mailbox = current_mailbox()
    found = search_contacts(mailbox.session, mailbox.tenant_id, args["q"], args["limit"])
    linked = is_linked_in_outlook(mailbox.session, mailbox.tenant_id, [c.id for c in found])
    return {"contacts": [{
        "id": c.id, "name": c.name, "first_name": c.first_name, "last_name": c.last_name,
        "job_title": c.job_title, "emails": c.addresses, "url": mailbox.links.contact(c.id),
        "company": None if c.company is None else {
            "id": c.company.id, "name": c.company.name, "url": mailbox.links.company(c.company.id)},
        "linked_in_outlook": c.id in linked,
    } for c in found]}


@bp.post("/messages/<message_id>/contacts")
@require_auth
@bp.arguments(SenderContactSchema)
@bp.response(200, SenderContactResultSchema)
@bp.doc(security=[{"bearerAuth": []}])
@bp.alt_response(404, schema=ErrorSchema, description="No such message in your mailbox")
def create_from_sender(body, message_id):
    """Create a CRM contact (and company) for a person on the message; optionally file and link the message."""
    try:
        MESSAGE_ID(message_id)
    except ma.ValidationError:
        raise ApiError(400, "invalid_message_id", "That is not a valid Outlook item id.")
    mailbox = current_mailbox()
    if body["link_email"]:
        prepare_for_writes(mailbox)
    try:
        return create_crm_contact_from_message(
            mailbox, message_id, body["address"], name=body.get("name"), company=body.get("company"),
            job_title=body.get("job_title"), phone=body.get("phone"), link=body["link_email"])
    except GraphError as error:
        raise api_error_for(error) from error
    except ValueError as error:
        raise ApiError(400, "invalid_address", "That is not a valid email address.") from error
