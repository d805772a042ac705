"""Schemas of a filed email's attachments, as the message view and the attachments
list give them."""

from __future__ import annotations

import marshmallow as ma

from server.crm.models.attachments import ATTACHMENT_STATES


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True, metadata={"description": "Bytes"})
    inline = ma.fields.Boolean(required=True, metadata={"description": "An image the body shows in place"})
    state = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(ATTACHMENT_STATES),
        metadata={
            "description": "stored: the CRM keeps the file; too_large: over a size limit, only its details are "
            "kept; pending: still being fetched from the mailbox; link: a OneDrive/SharePoint link, or storage "
            "is turned off for the organisation"
        },
    )
    url = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "Opens the file in a browser: the CRM's download for a stored file (signed in to the CRM "
            "pages), the link for a link, the message in Outlook for one too large; null while pending. API clients "
            "read a stored file's content from /api/v1/attachments/{id}/content."
        },
    )
