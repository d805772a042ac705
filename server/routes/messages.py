"""Messages: open (what the pane shows), sync, mark synced/unsynced, batch sync."""
from __future__ import annotations

import marshmallow as ma
from webargs.fields import DelimitedList

from server.api import Blueprint
from server.auth import require_auth
from server.graph.errors import GraphError
from server.routes.current import current_mailbox, prepare_for_writes
from server.sync.delta import request_catch_up
from server.sync.errors import api_error_for
from server.sync.file_message import sync_message, sync_messages
from server.sync.marks import set_mark
from server.sync.view import open_message
from server.errors import ApiError

bp = Blueprint("messages", __name__, url_prefix="/api/v1/messages",
               description="Outlook messages and their CRM state")

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
    address = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["from", "to", "cc", "bcc"]))
    valid = ma.fields.Boolean(metadata={"description": "False when the address is malformed"})
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema), required=True)
    outlook_contact_id = ma.fields.String(allow_none=True, required=True)


class MessageSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "Immutable Graph id"})
    internet_message_id = ma.fields.String(allow_none=True, required=True)
    conversation_id = ma.fields.String(allow_none=True)
    subject = ma.fields.String(required=True)
    received_at = ma.fields.String(allow_none=True)
    state = ma.fields.String(required=True,
                             validate=ma.validate.OneOf(["none", "pending", "synced", "excluded"]))
    crm_email_id = ma.fields.Integer(allow_none=True, required=True)
    crm_url = ma.fields.String(allow_none=True, required=True)
    categories = ma.fields.List(ma.fields.String())
    outlook_contacts_checked = ma.fields.Boolean(
        metadata={"description": "False when outlook_contact_id was not looked up in this answer"})
    people = ma.fields.List(ma.fields.Nested(PersonSchema), required=True)


class OpenArgsSchema(ma.Schema):
    people = DelimitedList(
        ma.fields.String(validate=ma.validate.Length(max=320)),
        validate=ma.validate.Length(max=500), load_default=list,
        metadata={"description": "The message's From/To/Cc addresses as the client shows them, "
                                 "comma-separated. Optional: with it, the message and its people's "
                                 "Outlook-contact lookups take one Graph request instead of two. "
                                 "Entries that are not addresses are ignored; the answer always "
                                 "describes the message's real people."})


class StateSchema(ma.Schema):
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(["synced", "unsynced"]))


class BatchSyncSchema(ma.Schema):
    ids = ma.fields.List(ma.fields.String(validate=MESSAGE_ID), required=True,
                         validate=ma.validate.Length(min=1, max=BATCH_LIMIT))


class ResultErrorSchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    retry_after = ma.fields.Integer()


class BatchResultSchema(ma.Schema):
    id = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    status = ma.fields.String(required=True,
                              validate=ma.validate.OneOf(["synced", "already_synced", "failed"]))
    message = ma.fields.Nested(MessageSchema)
    error = ma.fields.Nested(ResultErrorSchema)


class BatchSyncResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(BatchResultSchema), required=True)


def _checked_id(message_id: str) -> str:
    try:
        MESSAGE_ID(message_id)
    except ma.ValidationError:
        raise ApiError(400, "invalid_message_id", "That is not a valid Outlook item id.")
    return message_id


def _graph(call, *args):
    try:
        return call(*args)
    except GraphError as error:
        raise api_error_for(error) from error


@bp.get("/<message_id>")
@require_auth
@bp.arguments(OpenArgsSchema, location="query")
@bp.response(200, MessageSchema)
@bp.doc(security=[{"bearerAuth": []}])
def get(args, message_id):
    """Show a message's CRM state and the people on it."""
    mailbox = current_mailbox()
    request_catch_up(mailbox.user)  # the pane opened: catch up with what notifications missed
    return _graph(open_message, mailbox, _checked_id(message_id), args["people"])


@bp.post("/<message_id>/sync")
@require_auth
@bp.response(200, MessageSchema)
@bp.doc(security=[{"bearerAuth": []}])
def sync(message_id):
    """File the message in the CRM and mark it synced (idempotent)."""
    mailbox = current_mailbox()
    prepare_for_writes(mailbox)
    return _graph(sync_message, mailbox, _checked_id(message_id))


@bp.post("/<message_id>/state")
@require_auth
@bp.arguments(StateSchema)
@bp.response(200, MessageSchema)
@bp.doc(security=[{"bearerAuth": []}])
def mark(body, message_id):
    """Mark the message synced (never file it) or unsynced (file it on the next round)."""
    mailbox = current_mailbox()
    prepare_for_writes(mailbox)
    return _graph(set_mark, mailbox, _checked_id(message_id), body["state"])


@bp.post("/batch-sync")
@require_auth
@bp.arguments(BatchSyncSchema)
@bp.response(200, BatchSyncResultSchema)
@bp.doc(security=[{"bearerAuth": []}])
def batch_sync(body):
    """Sync up to 100 messages; answers per id."""
    mailbox = current_mailbox()
    prepare_for_writes(mailbox)
    return {"results": _graph(sync_messages, mailbox, body["ids"])}
