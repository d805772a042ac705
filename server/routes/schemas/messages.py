"""Schemas of Outlook messages as the pane sees them: the message, its people and
their CRM contacts, and batch results."""

from __future__ import annotations

import marshmallow as ma
from webargs.fields import DelimitedList

from server.errors import ApiError
from server.routes.schemas.attachments import AttachmentSchema

# Graph ids (REST or immutable) are URL-safe base64; anything else never reaches Graph.
MESSAGE_ID = ma.validate.Regexp(r"^[A-Za-z0-9_\-=]{1,1024}$", error="Not a valid Outlook item id.")
BATCH_LIMIT = 100


class CompanySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class ContactSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    url = ma.fields.String(required=True)
    company = ma.fields.Nested(CompanySchema, allow_none=True)


class PersonSchema(ma.Schema):
    address = ma.fields.String(
        required=True, metadata={"description": "Normalised (IDNA domain): the form CRM contacts are matched on"}
    )
    display_address = ma.fields.String(
        metadata={"description": "The address as people read it, its domain in Unicode (jan@bücher.de)"}
    )
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["from", "to", "cc", "bcc"]))
    valid = ma.fields.Boolean(metadata={"description": "False when the address is malformed"})
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema), required=True)
    outlook_contact_id = ma.fields.String(allow_none=True, required=True)
    external = ma.fields.Boolean(
        metadata={
            "description": "True when the address is outside the domains of your organisation's users "
            '(the compose pane offers "Create CRM contact" only to these)'
        }
    )
    never_sync = ma.fields.Boolean(metadata={"description": "True when the address is on your never-sync list"})


class ColleagueLinkSchema(ma.Schema):
    target_type = ma.fields.String(required=True, validate=ma.validate.OneOf(["case", "task"]))
    target_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    url = ma.fields.String(required=True)
    made_by = ma.fields.String(required=True, metadata={"description": "The colleague's name"})


class MessageSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "Immutable Graph id"})
    internet_message_id = ma.fields.String(allow_none=True, required=True)
    conversation_id = ma.fields.String(allow_none=True)
    subject = ma.fields.String(required=True)
    received_at = ma.fields.String(allow_none=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(["none", "pending", "synced", "excluded"]))
    auto_sync = ma.fields.String(
        validate=ma.validate.OneOf(["off", "marked", "known_contacts", "all"]),
        metadata={"description": "The user's effective automatic-sync mode"},
    )
    filing_queued = ma.fields.Boolean(
        metadata={
            "description": "True when the message is not filed yet but the backend will file it without another "
            'click: it carries the "Sync to CRM" category, or it is pending (marked unsynced) and automatic sync '
            "is on"
        }
    )
    automatic_sync_blocked = ma.fields.Boolean(
        metadata={
            "description": "True when the organisation keeps the app out of this mailbox (Exchange's RBAC for "
            "Applications or an application access policy): automatic and bulk sync leave it alone, the pane's "
            "own commands still work"
        }
    )
    crm_email_id = ma.fields.Integer(allow_none=True, required=True)
    crm_url = ma.fields.String(allow_none=True, required=True)
    categories = ma.fields.List(ma.fields.String())
    outlook_contacts_checked = ma.fields.Boolean(
        metadata={"description": "False when outlook_contact_id was not looked up in this answer"}
    )
    people = ma.fields.List(ma.fields.Nested(PersonSchema), required=True)
    colleague_links = ma.fields.List(
        ma.fields.Nested(ColleagueLinkSchema),
        metadata={
            "description": "Records a colleague files this message's conversation on and the caller does not: "
            "a colleague's link files only the colleague's own mailbox, so the pane offers the caller their own "
            "link (POST /emails/{id}/conversation-links)"
        },
    )
    attachments = ma.fields.List(
        ma.fields.Nested(AttachmentSchema),
        metadata={"description": "The filed email's attachments (empty until the message is filed)"},
    )


class OpenArgsSchema(ma.Schema):
    people = DelimitedList(
        ma.fields.String(validate=ma.validate.Length(max=320)),
        validate=ma.validate.Length(max=500),
        load_default=list,
        metadata={
            "description": "The message's From/To/Cc addresses as the client shows them, "
            "comma-separated. Optional: with it, the message and its people's "
            "Outlook-contact lookups take one Graph request instead of two. "
            "Entries that are not addresses are ignored; the answer always "
            "describes the message's real people."
        },
    )


class StateSchema(ma.Schema):
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(["synced", "unsynced"]))


class BatchSyncSchema(ma.Schema):
    ids = ma.fields.List(
        ma.fields.String(validate=MESSAGE_ID), required=True, validate=ma.validate.Length(min=1, max=BATCH_LIMIT)
    )


class ResultErrorSchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    retry_after = ma.fields.Integer()


class BatchResultSchema(ma.Schema):
    id = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(["synced", "already_synced", "failed"]))
    message = ma.fields.Nested(MessageSchema)
    error = ma.fields.Nested(ResultErrorSchema)


class BatchSyncResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(BatchResultSchema), required=True)


def checked_message_id(message_id: str) -> str:
    """The id from a URL path, or 400 invalid_message_id (flask-smorest does not
    validate path arguments)."""
    try:
        MESSAGE_ID(message_id)
    except ma.ValidationError:
        raise ApiError(400, "invalid_message_id", "That is not a valid Outlook item id.") from None
    return message_id
