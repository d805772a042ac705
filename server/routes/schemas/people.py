"""Schemas of matching addresses to CRM contacts (the compose pane's recipients)."""

from __future__ import annotations

import marshmallow as ma

from server.routes.schemas.contacts import ADDRESS
from server.routes.schemas.field_limits import Limited
from server.routes.schemas.messages import CompanySchema, PersonSchema

# As many addresses as the message view accepts from the pane (OpenArgsSchema.people).
MAX_ADDRESSES = 500


class MatchRequestSchema(ma.Schema):
    addresses = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=320)),
        required=True,
        validate=ma.validate.Length(max=MAX_ADDRESSES),
        metadata={
            "description": "The To, Cc and Bcc addresses of a message being written, as Office.js gives them. "
            "Entries that are not addresses come back with valid false; the user's own addresses are left out."
        },
    )


class MatchSchema(ma.Schema):
    people = ma.fields.List(
        ma.fields.Nested(PersonSchema),
        required=True,
        metadata={
            "description": "The message view's person shape, in the order given, each address once; role is "
            'always "to" and outlook_contact_id null (Outlook contacts are not looked up)'
        },
    )


class RecipientContactRequestSchema(ma.Schema):
    address = ma.fields.String(required=True, validate=ADDRESS)
    name = ma.fields.String(
        load_default="",
        validate=Limited("display_name", "name"),
        metadata={"description": "The display name Outlook shows for the recipient; the contact's name comes from it"},
    )
    company = ma.fields.String(validate=Limited("company"))


class RecipientContactSchema(ma.Schema):
    crm_contact_id = ma.fields.Integer(required=True)
    crm_url = ma.fields.String(required=True)
    created = ma.fields.Boolean(
        required=True, metadata={"description": "False: a contact with the address existed (a double click)"}
    )
    name = ma.fields.String()
    company = ma.fields.Nested(CompanySchema, allow_none=True)
    person = ma.fields.Nested(
        PersonSchema, required=True, metadata={"description": "The recipient as /people/match now answers it"}
    )
