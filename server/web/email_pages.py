"""The filed emails' pages (/crm/emails...): the list, one email with its sanitised
body, linked records, notes and conversation, and adding a note."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import g, redirect, render_template, request, session, url_for
from flask_babel import format_number, gettext
from markupsafe import Markup

from server.crm import cases as crm_cases
from server.crm.attachment_queries import attachments_of, inline_image_urls
from server.crm.field_limits import FieldTooLong, limit_of
from server.crm.models import Email
from server.crm.sanitise import link_cid_images, normal_content_id, sanitise_html
from server.db import db_session
from server.web import page_queries
from server.web.blueprint import bp
from server.web.tenant_scope import found, tenant

# The sanitiser leaves remote images as <img data-src="https://...">; its output
# always double-quotes attributes and escapes their values.
_BLOCKED_IMAGE = re.compile(r'\sdata-src="(https?://[^"]*)"', re.IGNORECASE)


def email_body(email: Email, show_images: bool, inline_images: Mapping[str, str] | None = None) -> tuple[Markup, int]:
    """The body, sanitised again (cheap insurance), with the inline images the CRM
    stored pointed at our URLs (`inline_images`: content id -> URL), and how many
    remote images it holds; they get a real src only when `show_images`."""
    body = link_cid_images(sanitise_html(email.body_html), inline_images or {})
    blocked = len(_BLOCKED_IMAGE.findall(body))
    if show_images and blocked:
        body = _BLOCKED_IMAGE.sub(r' src="\1" referrerpolicy="no-referrer"', body)
    return Markup(body), blocked


@bp.get("/crm/emails")
def emails():
    """Every filed email, newest first."""
    page = page_queries.emails_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/emails.html", page=page)


@bp.get("/crm/emails/<int:email_id>")
def email(email_id: int):
    """One filed email: header, body, attachments, linked records, notes, conversation."""
    db = db_session()
    item = found(Email.get(db, tenant(), email_id))
    show_images = request.args.get("images") == "1"
    files = attachments_of(db, tenant(), item.id)
    inline = inline_image_urls(files, lambda row: url_for("web.attachment_inline", attachment_id=row.id))
    body, blocked = email_body(item, show_images, inline)
    g.email_body_shown = True
    g.show_remote_images = show_images and blocked > 0
    notes = crm_cases.list_notes(db, tenant(), item)
    authors = crm_cases.users_by_id(db, tenant(), [n.author_id for n in notes])
    return render_template(
        "crm/email.html",
        email=item,
        body=body,
        blocked_images=blocked,
        show_images=show_images,
        linked=page_queries.linked_records(db, tenant(), item),
        notes=notes,
        authors=authors,
        conversation=page_queries.conversation_of(db, tenant(), item),
        # An inline image the body shows in place is not listed again as a file.
        files=[row for row in files if not (row.inline and normal_content_id(row.content_id) in inline)],
    )


@bp.post("/crm/emails/<int:email_id>/notes")
def add_note(email_id: int):
    """Adds a note to a filed email (visible to everyone who can see the email)."""
    db = db_session()
    item = found(Email.get(db, tenant(), email_id))
    text = request.form.get("body") or ""
    try:
        crm_cases.add_note(db, tenant(), g.crm_user, item, text)
    except FieldTooLong as exc:
        # In English the words the API answers with (crm.field_limits), translated here.
        session["flash_note"] = gettext(
            "Note is too long: at most %(limit)s characters.", limit=format_number(exc.limit)
        )
    except ValueError:
        session["flash_note"] = gettext("Write something before adding the note.")
    return redirect(url_for("web.email", email_id=item.id) + "#notes", code=303)


@bp.app_template_global("field_limit")
def field_limit(kind: str) -> int:
    """The CRM's limit for a field (server/crm/field_limits.py), for a form's maxlength."""
    return limit_of(kind)


@bp.app_template_global("pop_note_message")
def pop_note_message() -> str | None:
    return session.pop("flash_note", None)
