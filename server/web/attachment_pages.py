"""Filed attachments in the pages (/crm/attachments/...): downloading one, showing
an inline image in place, an attached email as a nested email with its own files,
and the "Files" tab of a contact or a company.

Access follows access to the email: every lookup is within the signed-in user's
tenant, so another tenant's attachment is a 404 like one that does not exist.
Files are streamed from the blob store, never read whole into memory, and sent as
downloads (headers.download_headers); only png, jpeg, gif and webp images are ever
shown in place.
"""

from __future__ import annotations

from flask import Response, abort, g, render_template, request, url_for
from flask_babel import format_decimal, gettext, ngettext
from markupsafe import Markup

from server.crm.attachment_queries import attachment_of, files_page, shows_inline, stream_content, web_link
from server.crm.attachments import AttachmentNotFound
from server.crm.blob_store import blob_store
from server.crm.mime_items import INLINE_PART_TYPES, NestedPart, nested_message, part_at, read_message
from server.crm.models import Company, Contact, Email
from server.crm.models.attachments import EmailAttachment
from server.db import Database, db_session
from server.headers import download_headers
from server.web.blueprint import bp
from server.web.tenant_scope import found, tenant


def _stored(attachment_id: int) -> EmailAttachment:
    try:
        row = attachment_of(db_session(), tenant(), attachment_id)
    except AttachmentNotFound:
        abort(404)
    if row.state != "stored" or not row.sha256 or not blob_store().exists(db_session(), tenant(), row.sha256):
        abort(404)
    return row


def file_response(row: EmailAttachment, inline: bool) -> Response:
    """The stored file as a streamed download (`inline` only for a checked image)."""
    g.file_download = True  # page_guard keeps these headers instead of the pages' CSP
    chunks = stream_content(Database.state().session_factory, row.tenant_id, row.sha256 or "")
    return Response(chunks, headers=download_headers(row.name, row.content_type, row.size, inline=inline))


@bp.get("/crm/attachments/<int:attachment_id>")
def attachment_download(attachment_id: int):
    """A stored attachment, always as a download."""
    return file_response(_stored(attachment_id), inline=False)


@bp.get("/crm/attachments/<int:attachment_id>/inline")
def attachment_inline(attachment_id: int):
    """An inline image for the email page; any other type is a download here too."""
    row = _stored(attachment_id)
    return file_response(row, inline=shows_inline(row))


def _item_message(attachment_id: int):
    row = _stored(attachment_id)
    if row.kind != "item":
        abort(404)
    with Database.state().session_factory() as session:
        return row, read_message(blob_store().open(session, row.tenant_id, row.sha256 or ""))


def nested_part_url(attachment_id: int, part: NestedPart) -> str:
    inline = part.content_type in INLINE_PART_TYPES
    return url_for("web.attachment_part", attachment_id=attachment_id, index=part.index, inline=1 if inline else None)


@bp.get("/crm/attachments/<int:attachment_id>/message")
def attachment_message(attachment_id: int):
    """An attached email, shown as a nested email with its own attachments."""
    row, message = _item_message(attachment_id)
    nested = nested_message(message, lambda part: nested_part_url(row.id, part))
    email = found(Email.get(db_session(), tenant(), row.email_id))
    g.email_body_shown = True
    return render_template(
        "crm/attached_email.html", attachment=row, email=email, nested=nested, body=Markup(nested.body_html)
    )


@bp.get("/crm/attachments/<int:attachment_id>/parts/<int:index>")
def attachment_part(attachment_id: int, index: int):
    """One file of an attached email; an image of the inline types may show in place."""
    row, message = _item_message(attachment_id)
    found_part = part_at(message, index)
    if found_part is None:
        abort(404)
    part, data = found_part
    inline = request.args.get("inline") == "1" and part.content_type in INLINE_PART_TYPES
    g.file_download = True
    return Response(
        [data], headers=download_headers(part.name or f"{row.name}-{index}", part.content_type, len(data), inline)
    )


@bp.get("/crm/contacts/<int:contact_id>/files")
def contact_files(contact_id: int):
    """Every file exchanged with a contact, newest first, each file once."""
    db = db_session()
    person = found(Contact.get(db, tenant(), contact_id, include_deleted=True))
    page = files_page(db, tenant(), "contact", person.id, request.args.get("after"))
    return render_template("crm/record_files.html", record=person, kind="contact", page=page)


@bp.get("/crm/companies/<int:company_id>/files")
def company_files(company_id: int):
    """Every file exchanged with a company, newest first, each file once."""
    db = db_session()
    firm = found(Company.get(db, tenant(), company_id))
    page = files_page(db, tenant(), "company", firm.id, request.args.get("after"))
    return render_template("crm/record_files.html", record=firm, kind="company", page=page)


# What a file is, at a glance: a glyph by kind and type (a name and type are shown too).
_ICONS = (
    ("image/", "🖼"),
    ("application/pdf", "📕"),
    ("spreadsheet", "📊"),
    ("excel", "📊"),
    ("csv", "📊"),
    ("presentation", "📽"),
    ("powerpoint", "📽"),
    ("word", "📝"),
    ("text/", "📝"),
    ("zip", "🗜"),
    ("compressed", "🗜"),
    ("audio/", "🎵"),
    ("video/", "🎞"),
)


@bp.app_template_global("file_icon")
def file_icon(row) -> str:
    if row.kind == "item":
        return "✉"
    if row.kind == "reference":
        return "🔗"
    content_type = (row.content_type or "").lower()
    return next((icon for needle, icon in _ICONS if needle in content_type), "📄")


@bp.app_template_global("file_size")
def file_size(size: int | None) -> str:
    size = int(size or 0)
    if size < 1024:
        return ngettext("%(num)d byte", "%(num)d bytes", size)
    if size < 1024 * 1024:
        return gettext("%(size)s KB", size=format_decimal(round(size / 1024, 1)))
    return gettext("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1)))


bp.add_app_template_global(web_link, "safe_link")
