"""A message's attachments: the list, one attachment, and its raw contents (`/$value`).

Shapes and rules follow Microsoft's "Get attachment" (v1.0): the `@odata.type` says the
kind; `$expand=microsoft.graph.itemattachment/item` adds an item attachment's message;
`/$value` answers a file's bytes with its own content type, an item's MIME, and 405 for
a reference attachment. `/$value` is streamed in chunks (emulator.store.attachments), so
a 150 MB file never sits in memory, and the gate's "cut" fault can break it half-way.
"""

from __future__ import annotations

from emulator import odata
from emulator.graph import access
from emulator.graph.errors import GraphError, not_found
from emulator.graph.messages import folder_of, message_of
from emulator.graph.routing import Stream, ok, route
from emulator.store.attachments import (
    REFERENCE,
    attachment_json,
    content_chunks,
    media_type,
    parse_attachment_select,
)

ATT = r"(?:/(?P<att>[^/()]+)|\('(?P<att_q>[^']+)'\))"
EXPAND_ITEM = "microsoft.graph.itemattachment/item"


def _attachment(msg, att_id: str) -> dict:
    for att in msg.attachments:
        if att["id"] == att_id:
            return att
    raise not_found()


def _context(req, owner, user, msg_ref: str) -> str:
    return f"{access.user_context(req, owner, user)}/messages('{msg_ref}')/attachments"


@route("GET", "{USER}/messages{ITEM}/attachments", "{USER}{FOLDER}/messages{ITEM}/attachments")
def list_attachments(req, id, user=None, folder=None):
    """Attachments of a message (metadata, and contentBytes unless $select leaves it out)."""
    owner = access.mailbox(req, user, "mail.read")
    box_folder = folder_of(req, owner, folder) if folder else None
    odata.check_options(req.args, {"$select", "$top", "$skip"})
    select = parse_attachment_select(odata.option(req.args, "$select"))
    top = odata.parse_int(odata.option(req.args, "$top"), "$top", None, 1)
    skip = odata.parse_int(odata.option(req.args, "$skip"), "$skip", 0)
    with req.store.lock:
        msg = message_of(req, owner, id, box_folder)
        rows = msg.attachments[skip : None if top is None else skip + top]
        value = [attachment_json(a, select) for a in rows]
    return ok({"@odata.context": req.context(_context(req, owner, user, id)), "value": value})


@route(
    "GET",
    "{USER}/messages{ITEM}/attachments" + ATT,
    "{USER}{FOLDER}/messages{ITEM}/attachments" + ATT,
)
def get_attachment(req, id, att=None, att_q=None, user=None, folder=None):
    """One attachment's JSON, its kind's properties; an item attachment's message with $expand."""
    owner = access.mailbox(req, user, "mail.read")
    box_folder = folder_of(req, owner, folder) if folder else None
    odata.check_options(req.args, {"$select", "$expand"})
    select = parse_attachment_select(odata.option(req.args, "$select"))
    expand = (odata.option(req.args, "$expand") or "").strip()
    if expand and expand.lower() not in (EXPAND_ITEM, "item"):
        raise odata.ODataError(
            f"Could not find a property named '{expand}' on type 'microsoft.graph.attachment'.",
            "RequestBroker--ParseUri",
        )
    with req.store.lock:
        msg = message_of(req, owner, id, box_folder)
        att_json = attachment_json(_attachment(msg, att or att_q), select, expand_item=bool(expand))
    body = {"@odata.context": req.context(_context(req, owner, user, id) + "/$entity"), **att_json}
    return ok(body)


@route(
    "GET",
    "{USER}/messages{ITEM}/attachments" + ATT + r"/\$value",
    "{USER}{FOLDER}/messages{ITEM}/attachments" + ATT + r"/\$value",
)
def attachment_value(req, id, att=None, att_q=None, user=None, folder=None):
    """The raw contents: a file's bytes, an item's MIME; streamed in chunks."""
    owner = access.mailbox(req, user, "mail.read")
    box_folder = folder_of(req, owner, folder) if folder else None
    with req.store.lock:
        msg = message_of(req, owner, id, box_folder)
        found = _attachment(msg, att or att_q)
    if found["kind"] == REFERENCE:
        raise GraphError(405, "ErrorInvalidRequest", "The $value of a reference attachment cannot be read.")
    length = found["size"] if "seed" in found else sum(len(c) for c in content_chunks(found))
    return ok(Stream(content_chunks(found), length, media_type(found)))
