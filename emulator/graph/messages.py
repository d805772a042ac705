"""Messages: list, get, update (categories, flags, extended properties), delete, move (attachments: attachments.py)."""

from __future__ import annotations

from emulator import odata
from emulator.faults import CHANGE_KEY_MISMATCH
from emulator.graph import access
from emulator.graph.errors import GraphError, bad_request, malformed_id, not_found
from emulator.graph.routing import ok, route
from emulator.store.attachments import attachment_json, parse_attachment_select
from emulator.store.clock import iso
from emulator.store.errors import StoreError
from emulator.store.extended_properties import canonical_property_id
from emulator.store.ids import looks_like_item_id
from emulator.store.message_json import html_to_text

MESSAGE_PROPERTIES = [
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
    "uniqueBody",
]
SELECTABLE = {p.lower(): p for p in MESSAGE_PROPERTIES}
FILTERABLE = {
    **SELECTABLE,
    "singlevalueextendedproperties": "singleValueExtendedProperties",
    "multivalueextendedproperties": "multiValueExtendedProperties",
}
PROPERTY_FIELDS = {"id": "id", "value": "value"}

# PATCH: what may change on any message, and what only on drafts.
WRITABLE = {
    "categories",
    "isRead",
    "flag",
    "importance",
    "inferenceClassification",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
}
DRAFT_ONLY = {
    "subject",
    "body",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "from",
    "sender",
    "internetMessageId",
}
READ_ONLY = {
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "bodyPreview",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDraft",
    "webLink",
    "uniqueBody",
    "@odata.etag",
    "@odata.type",
    "@odata.context",
}
DEFAULT_PAGE = 10
MAX_PAGE = 1000


# ---------------------------------------------------------------- helpers


def folder_of(req, user, ref: str):
    """The folder named in a URL, or GraphError 400/404."""
    folder = req.store.mail_folder(user, ref)
    if folder is None:
        if looks_like_item_id(ref):
            raise not_found()
        raise malformed_id()
    return folder


def message_of(req, user, item_id: str, folder=None):
    if not looks_like_item_id(item_id):
        raise malformed_id()
    msg = req.store.message(user, item_id)
    if msg is None or (folder is not None and msg.folder_id != folder.id):
        raise not_found()
    return msg


def parse_expand(text):
    """Message $expand items, validated; returns {name: Expand}."""
    out = {}
    for item in odata.parse_expand(text):
        name = item.name.lower()
        if name == "singlevalueextendedproperties":
            out["singleValueExtendedProperties"] = item
        elif name == "multivalueextendedproperties":
            out["multiValueExtendedProperties"] = item
        elif name == "attachments":
            out["attachments"] = item
        else:
            raise odata.ODataError(
                f"Could not find a property named '{item.name}' on type 'microsoft.graph.message'.",
                "RequestBroker--ParseUri",
            )
        if item.filter is not None and name != "attachments":
            item.compiled = odata.parse_filter(item.filter, "singleValueLegacyExtendedProperty", PROPERTY_FIELDS)
        else:
            item.compiled = None
    return out


def render(req, user, msg, select=None, expand=None, immutable=None) -> dict:
    """A message's JSON as Graph returns it for this request's preferences."""
    store = req.store
    immutable = req.wants_immutable_ids() if immutable is None else immutable
    out = store.message_json(user, msg, immutable)
    if req.prefer().get("outlook.body-content-type", "").lower() == "text" and out["body"]["contentType"] == "html":
        out["body"] = {"contentType": "text", "content": html_to_text(out["body"]["content"])}
    if select is not None and "uniqueBody" in select:
        out["uniqueBody"] = dict(out["body"])
    out = odata.apply_select(out, select)
    for name, item in (expand or {}).items():
        if name == "attachments":
            sel = parse_attachment_select(item.select)
            out["attachments"] = [attachment_json(a, sel) for a in msg.attachments]
            continue
        props = list(msg.ext_props.values()) if name == "singleValueExtendedProperties" else []
        if item.compiled is not None:
            props = [p for p in props if item.compiled(p)]
        if props:  # Graph leaves the property out when nothing matches
            out[name] = [dict(p) for p in props]
    return out


# Properties message_json takes straight from the store's fields: a $filter on these
# alone is evaluated without building each message's full representation (bulk sync
# pages through a 100,000-message folder, and every page filters all of it).
PLAIN_FIELDS = (
    "receivedDateTime",
    "sentDateTime",
    "subject",
    "internetMessageId",
    "conversationId",
    "isRead",
    "isDraft",
    "hasAttachments",
    "importance",
)
_PLAIN_LOWER = {name.lower(): name for name in PLAIN_FIELDS}


def filter_view(store, user, msg, immutable: bool, properties=None) -> dict:
    if properties and all(p.lower() in _PLAIN_LOWER for p in properties):
        return {_PLAIN_LOWER[p.lower()]: msg.fields[_PLAIN_LOWER[p.lower()]] for p in properties}
    view = store.message_json(user, msg, immutable)
    view["singleValueExtendedProperties"] = list(msg.ext_props.values())
    view["multiValueExtendedProperties"] = []
    return view


def message_context(req, user, user_ref, folder_ref=None, select=None, entity=False) -> str:
    base = access.user_context(req, user, user_ref)
    if folder_ref:
        base += f"/mailFolders('{folder_ref}')"
    base += "/messages"
    if select:
        base += "(" + ",".join(select) + ")"
    return req.context(base + ("/$entity" if entity else ""))


def _orderby_allowed(flt, orderby) -> bool:
    """Graph's rule for $filter with $orderby: ordered properties come first in the filter, in order."""
    wanted = [p.lower() for p, _ in orderby]
    seen = [p.lower() for p in flt.properties]
    return seen[: len(wanted)] == wanted


# ---------------------------------------------------------------- list


@route("GET", "{USER}/messages", "{USER}{FOLDER}/messages")
def list_messages(req, user=None, folder=None):
    """List messages in the mailbox or a folder, newest first, with paging."""
    owner = access.mailbox(req, user, "mail.read")
    box_folder = folder_of(req, owner, folder) if folder else None
    args = req.args
    odata.check_options(args, {"$select", "$top", "$skip", "$filter", "$orderby", "$expand", "$count", "$search"})
    select = odata.parse_select(odata.option(args, "$select"), "message", SELECTABLE)
    expand = parse_expand(odata.option(args, "$expand"))
    filter_text = odata.option(args, "$filter")
    flt = odata.parse_filter(filter_text, "message", FILTERABLE) if filter_text is not None else None
    orderby_text = odata.option(args, "$orderby")
    orderby = odata.parse_orderby(orderby_text, "message", SELECTABLE)
    search = odata.option(args, "$search")
    if search is not None and (flt is not None or orderby):
        raise bad_request(
            "The query parameter '$orderby' or '$filter' is not supported with '$search'.", "ErrorInvalidUrlQuery"
        )
    if flt is not None and orderby and not _orderby_allowed(flt, orderby):
        raise bad_request("The restriction or sort order is too complex for this operation.", "InefficientFilter")
    page_size = odata.parse_int(odata.option(args, "$top"), "$top", req.max_page_size() or DEFAULT_PAGE, 1)
    page_size = min(page_size, MAX_PAGE)
    skip = odata.parse_int(odata.option(args, "$skip"), "$skip", 0)
    count = odata.parse_bool(odata.option(args, "$count"), "$count")
    immutable = req.wants_immutable_ids()
    store = req.store
    with store.lock:
        rows = store.messages_in(owner, box_folder)
        if flt is not None:
            rows = [m for m in rows if flt(filter_view(store, owner, m, immutable, flt.properties))]
        if search is not None:
            terms = [t for t in search.strip('"').casefold().split() if t]
            rows = [m for m in rows if all(t in _search_text(m.fields) for t in terms)]
        rows = odata.sort_items(rows, orderby or [("receivedDateTime", True)], sort_value)
        total = len(rows)
        value = [render(req, owner, m, select, expand) for m in rows[skip : skip + page_size]]
    body = {"@odata.context": message_context(req, owner, user, folder, select)}
    if count:
        body["@odata.count"] = total
    body["value"] = value
    if skip + page_size < total:
        params = [(k, v) for k, v in args.items(multi=True) if k.lower() not in ("$skip", "$top")]
        params += [("$top", str(page_size)), ("$skip", str(skip + page_size))]
        body["@odata.nextLink"] = req.link(req.path, params)
    return ok(body)


def sort_value(msg, prop: str):
    """The value $orderby compares, read straight from the store (no JSON built)."""
    if prop in msg.fields:
        return msg.fields[prop]
    return {
        "createdDateTime": iso(msg.created),
        "lastModifiedDateTime": iso(msg.modified),
        "id": msg.rest_id,
        "changeKey": msg.change_key,
        "parentFolderId": msg.folder_id,
    }.get(prop)


def _search_text(view: dict) -> str:
    sender = (view.get("from") or {}).get("emailAddress") or {}
    return " ".join(
        str(x) for x in (view.get("subject"), view.get("bodyPreview"), sender.get("name"), sender.get("address"))
    ).casefold()


# ---------------------------------------------------------------- one message


@route("GET", "{USER}/messages{ITEM}", "{USER}{FOLDER}/messages{ITEM}")
def get_message(req, id, user=None, folder=None):
    """One message, with $select and $expand."""
    owner = access.mailbox(req, user, "mail.read")
    box_folder = folder_of(req, owner, folder) if folder else None
    odata.check_options(req.args, {"$select", "$expand"})
    select = odata.parse_select(odata.option(req.args, "$select"), "message", SELECTABLE)
    expand = parse_expand(odata.option(req.args, "$expand"))
    with req.store.lock:
        msg = message_of(req, owner, id, box_folder)
        body = {"@odata.context": message_context(req, owner, user, None, select, entity=True)}
        body.update(render(req, owner, msg, select, expand))
    return ok(body)


@route("PATCH", "{USER}/messages{ITEM}", "{USER}{FOLDER}/messages{ITEM}")
def update_message(req, id, user=None, folder=None):
    """Update writable properties; extended properties merge by id. Answers the updated message."""
    owner = access.mailbox(req, user, "mail.write")
    box_folder = folder_of(req, owner, folder) if folder else None
    patch = req.json()
    store = req.store
    with store.lock:
        msg = message_of(req, owner, id, box_folder)
        if not if_match_holds(req.headers.get("If-Match"), msg.change_key):
            raise GraphError(412, "ErrorIrresolvableConflict", CHANGE_KEY_MISMATCH)
        changes, props = validate_patch(patch, msg.fields.get("isDraft", False))
        store.update_message(owner, msg, changes, props)
        body = {"@odata.context": message_context(req, owner, user, None, None, entity=True)}
        body.update(render(req, owner, msg))
    return ok(body)


def if_match_holds(header: str | None, change_key: str) -> bool:
    """A conditional write's `If-Match` against the item's current version: no header,
    `*`, or one of its listed etags (`W/"<changeKey>"`, as `@odata.etag` gives it, or the
    bare changeKey) naming the current changeKey. Every change to the item gives it a
    new changeKey, so an etag read before a change no longer matches (412)."""
    if header is None or not header.strip():
        return True
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == change_key:
            return True
    return False


def validate_patch(patch: dict, is_draft: bool):
    """(field changes, extended properties) from a PATCH body; GraphError(400) when invalid."""
    changes, props = {}, []
    for key, value in patch.items():
        if key in READ_ONLY or key.startswith("@odata."):
            continue
        if key == "singleValueExtendedProperties":
            props = validate_properties(value)
        elif key == "multiValueExtendedProperties":
            raise bad_request("multiValueExtendedProperties are not supported by this emulator.")
        elif key in WRITABLE or key in DRAFT_ONLY:
            if key in DRAFT_ONLY and not is_draft:
                raise bad_request(
                    "Update operation failed. Sent message properties cannot be updated.",
                    "ErrorInvalidPropertyUpdateSentMessage",
                )
            changes[key] = check_type(key, value)
        else:
            raise bad_request(
                f"The property '{key}' does not exist on type 'microsoft.graph.message'. Make sure "
                f"to only use property names that are defined by the type or mark the type as "
                f"open type.",
                "RequestBodyRead",
            )
    return changes, props


def check_type(key, value):
    def fail(kind):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type '{kind}'.", "RequestBodyRead")

    if key == "categories":
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            fail("Collection(Edm.String)")
        return list(dict.fromkeys(value))
    if key in ("isRead", "isDeliveryReceiptRequested", "isReadReceiptRequested"):
        if not isinstance(value, bool):
            fail("Edm.Boolean")
    elif key == "importance":
        if value not in ("low", "normal", "high"):
            fail("microsoft.graph.importance")
    elif key == "inferenceClassification":
        if value not in ("focused", "other"):
            fail("microsoft.graph.inferenceClassificationType")
    elif key == "flag":
        if not isinstance(value, dict) or value.get("flagStatus", "notFlagged") not in (
            "notFlagged",
            "complete",
            "flagged",
        ):
            fail("microsoft.graph.followupFlag")
        value = {
            "flagStatus": value.get("flagStatus", "notFlagged"),
            **{k: v for k, v in value.items() if k != "flagStatus"},
        }
    elif key == "body":
        if not isinstance(value, dict) or not isinstance(value.get("content", ""), str):
            fail("microsoft.graph.itemBody")
        kind = str(value.get("contentType") or "text").lower()
        value = {"contentType": kind if kind in ("text", "html") else "text", "content": value.get("content", "")}
    elif key in ("subject", "internetMessageId"):
        if not isinstance(value, str):
            fail("Edm.String")
    return value


def validate_properties(value) -> list[dict]:
    if not isinstance(value, list):
        raise bad_request(
            "Cannot convert the literal to the expected type "
            "'Collection(microsoft.graph.singleValueLegacyExtendedProperty)'.",
            "RequestBodyRead",
        )
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise bad_request("Each extended property needs an 'id' and a 'value'.", "RequestBodyRead")
        if not isinstance(item.get("value"), str):
            raise bad_request(
                f"Cannot convert the literal '{item.get('value')}' to the expected type 'Edm.String'.",
                "RequestBodyRead",
            )
        try:
            canonical_property_id(item["id"])
        except StoreError as e:
            raise bad_request(e.message, e.code) from None
        out.append({"id": item["id"], "value": item["value"]})
    return out


@route("DELETE", "{USER}/messages{ITEM}", "{USER}{FOLDER}/messages{ITEM}")
def delete_message(req, id, user=None, folder=None):
    """Delete a message (delta reports it as removed)."""
    owner = access.mailbox(req, user, "mail.write")
    box_folder = folder_of(req, owner, folder) if folder else None
    with req.store.lock:
        msg = message_of(req, owner, id, box_folder)
        req.store.delete_message(owner, msg)
    return ok(None, 204)


@route("POST", "{USER}/messages{ITEM}/move", "{USER}{FOLDER}/messages{ITEM}/move")
def move_message(req, id, user=None, folder=None):
    """Move to another folder; answers the message with its new REST id."""
    owner = access.mailbox(req, user, "mail.write")
    box_folder = folder_of(req, owner, folder) if folder else None
    destination = req.json().get("destinationId")
    if not isinstance(destination, str) or not destination:
        raise bad_request("The destinationId parameter is required.", "ErrorInvalidRequest")
    with req.store.lock:
        msg = message_of(req, owner, id, box_folder)
        target = folder_of(req, owner, destination)
        req.store.move_message(owner, msg, target)
        body = {"@odata.context": message_context(req, owner, user, None, None, entity=True)}
        body.update(render(req, owner, msg))
    return ok(body, 201)
