"""Schemas of matching addresses to CRM contacts (the compose pane's recipients)."""

from __future__ import annotations

import marshmallow as ma

from server.routes.schemas.messages import PersonSchema

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
