"""A filed email's attachments: the list, and one stored file's content, streamed
with the same headers as the CRM pages' download (never rendered by a browser).
Access follows access to the email: another tenant's id answers 404."""

from __future__ import annotations

from flask import Response

from server.api import Blueprint
from server.auth import require_auth
from server.crm import cases
from server.crm.attachment_queries import attachment_json, attachment_of, attachments_of, stream_content
from server.crm.attachments import AttachmentNotFound
from server.crm.blob_store import blob_store
from server.db import Database
from server.headers import download_headers
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY, not_found
from server.routes.schemas.attachments import AttachmentSchema

bp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="Filed emails' attachments")


@bp.get("/emails/<int:email_id>/attachments")
@require_auth
@bp.response(200, AttachmentSchema(many=True))
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def email_attachments(email_id):
    """A filed email's attachments, as the message view lists them."""
    mailbox = current_mailbox()
    email = cases.get_email(mailbox.session, mailbox.tenant_id, email_id)
    rows = attachments_of(mailbox.session, mailbox.tenant_id, email.id)
    return [attachment_json(row, mailbox.links.attachment) for row in rows]


@bp.get("/attachments/<int:attachment_id>/content")
@require_auth
@bp.doc(
    security=SECURITY,
    responses={
        "200": {
            "description": "The file, streamed, as a download: Content-Disposition attachment (RFC 6266 with an "
            "RFC 5987 UTF-8 file name), X-Content-Type-Options nosniff, Content-Security-Policy "
            "\"default-src 'none'; sandbox\"",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
@not_found(bp, "stored attachment")
def attachment_content(attachment_id):
    """A stored attachment's content (404 while it is pending, too large or a link)."""
    mailbox = current_mailbox()
    row = attachment_of(mailbox.session, mailbox.tenant_id, attachment_id)
    if row.state != "stored" or not row.sha256 or not blob_store().exists(mailbox.session, row.tenant_id, row.sha256):
        raise AttachmentNotFound()
    chunks = stream_content(Database.state().session_factory, row.tenant_id, row.sha256)
    return Response(chunks, headers=download_headers(row.name, row.content_type, row.size))
