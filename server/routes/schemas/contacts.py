"""Schemas of contacts from the pane: Outlook contacts and their sync with CRM
contacts, the CRM contact search, and CRM contacts created from a message's people."""

from __future__ import annotations

import marshmallow as ma

from server.crm.contacts import SEARCH_LIMIT
from server.routes.schemas.field_limits import Limited
from server.routes.schemas.messages import MESSAGE_ID, CompanySchema, MessageSchema, ResultErrorSchema

ADDRESS = Limited("email", "address", min=3)
REFRESH_LIMIT = 20


class NewOutlookContactSchema(ma.Schema):
    address = ma.fields.String(required=True, validate=ADDRESS)
    name = ma.fields.String(load_default="", validate=Limited("display_name", "name"))
    message_id = ma.fields.String(
        validate=MESSAGE_ID,
        metadata={
            "description": "The message the address was taken from (the ribbon's command). When the address "
            "is the user's own (a message they sent), the contact is for its first external recipient."
        },
    )


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
    conflicts = ma.fields.List(
        ma.fields.String(), metadata={"description": "Fields changed on both sides; the later modification won"}
    )


class RefreshSchema(ma.Schema):
    ids = ma.fields.List(
        ma.fields.String(validate=MESSAGE_ID),
        required=True,
        validate=ma.validate.Length(min=1, max=REFRESH_LIMIT),
        metadata={"description": "Outlook contact ids (e.g. the people's outlook_contact_id)"},
    )


class RefreshResultSchema(ma.Schema):
    id = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    result = ma.fields.Nested(ContactSyncSchema)
    error = ma.fields.Nested(ResultErrorSchema)


class RefreshResultsSchema(ma.Schema):
    results = ma.fields.List(
        ma.fields.Nested(RefreshResultSchema),
        required=True,
        metadata={"description": "One per linked contact; ids not linked to a CRM contact are left out"},
    )


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
    display_emails = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "The same addresses as people read them: internationalised domains in Unicode"},
    )
    company = ma.fields.Nested(CompanySchema, allow_none=True)
    url = ma.fields.String(required=True)
    linked_in_outlook = ma.fields.Boolean(metadata={"description": "Someone in the tenant linked it"})


class SearchResultSchema(ma.Schema):
    contacts = ma.fields.List(ma.fields.Nested(FoundContactSchema), required=True)


class SenderContactSchema(ma.Schema):
    address = ma.fields.String(required=True, validate=ADDRESS)
    name = ma.fields.String(
        validate=Limited("display_name", "name"),
        metadata={"description": "Defaults to the name the message shows for the address"},
    )
    company = ma.fields.String(validate=Limited("company"))
    job_title = ma.fields.String(validate=Limited("job_title"))
    phone = ma.fields.String(validate=Limited("business_phone", "phone"))
    link_email = ma.fields.Boolean(
        load_default=False, metadata={"description": 'True: "Create and link the email"; false: "Create only"'}
    )


class SenderContactResultSchema(ma.Schema):
    crm_contact_id = ma.fields.Integer(required=True)
    crm_url = ma.fields.String(required=True)
    created = ma.fields.Boolean(required=True, metadata={"description": "False: a contact with the address existed"})
    name = ma.fields.String()
    company = ma.fields.Nested(CompanySchema, allow_none=True)
    crm_email_id = ma.fields.Integer(allow_none=True)
    message = ma.fields.Nested(
        MessageSchema, allow_none=True, metadata={"description": "The message after filing (link_email only)"}
    )
