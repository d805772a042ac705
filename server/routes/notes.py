"""Notes on a filed email: list, add, delete your own. Everyone in the organisation
sees them."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.crm import cases
from server.routes.case_json import note_json
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY, not_found
from server.routes.schemas.cases import NewNoteSchema, NoteListSchema, NoteSchema

bp = Blueprint("notes", __name__, url_prefix="/api/v1", description="Notes on filed emails")


@bp.get("/emails/<int:email_id>/notes")
@require_auth
@bp.response(200, NoteListSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def list_notes(email_id):
    """Notes on a filed email (everyone in the organisation sees them)."""
    mailbox = current_mailbox()
    email = cases.get_email(mailbox.session, mailbox.tenant_id, email_id)
    notes = cases.list_notes(mailbox.session, mailbox.tenant_id, email)
    authors = cases.users_by_id(mailbox.session, mailbox.tenant_id, [n.author_id for n in notes])
    return {"notes": [note_json(mailbox, n, authors) for n in notes]}


@bp.post("/emails/<int:email_id>/notes")
@require_auth
@bp.arguments(NewNoteSchema)
@bp.response(201, NoteSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def add_note(body, email_id):
    """Add a note to a filed email."""
    mailbox = current_mailbox()
    email = cases.get_email(mailbox.session, mailbox.tenant_id, email_id)
    note = cases.add_note(mailbox.session, mailbox.tenant_id, mailbox.user, email, body["body"])
    return note_json(mailbox, note, {mailbox.user.id: mailbox.user})


@bp.delete("/notes/<int:note_id>")
@require_auth
@bp.response(204)
@bp.doc(security=SECURITY)
@not_found(bp, "note")
def delete_note(note_id):
    """Delete one of your notes."""
    mailbox = current_mailbox()
    cases.delete_note(mailbox.session, mailbox.tenant_id, mailbox.user, note_id)
