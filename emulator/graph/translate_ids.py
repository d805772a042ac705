"""POST {user}/translateExchangeIds: convert item ids between Exchange's formats.

Formats: restId, restImmutableEntryId, ewsId (REST with "-"->"/", "_"->"+"),
entryId and immutableEntryId (binary MAPI ids, URL-safe base64 without padding
plus a digit giving the padding count, as Graph documents).
"""

import base64
import hashlib

from emulator.graph import access
from emulator.graph.errors import GraphError, bad_request
from emulator.graph.routing import ok, route
from emulator.store.ids import ews_to_rest, rest_to_ews

FORMATS = ("entryId", "ewsId", "immutableEntryId", "restId", "restImmutableEntryId")
MAX_IDS = 1000


def encode_binary(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    padding = len(text) - len(text.rstrip("="))
    return text.rstrip("=").replace("+", "-").replace("/", "_") + str(padding)


def entry_id(user, item) -> bytes:
    # Like MAPI's: flags, the mailbox's provider uid, then the item's; changes when the item moves.
    return (
        b"\x00\x00\x00\x00"
        + hashlib.md5(user.oid.encode()).digest()
        + b"\x07\x00"
        + hashlib.sha256(f"entry|{item.rest_id}".encode()).digest()[:22]
    )


def immutable_entry_id(user, item) -> bytes:
    return (
        b"\x00\x00\x00\x00"
        + hashlib.md5(user.oid.encode()).digest()
        + b"\x09\x00"
        + hashlib.sha256(f"immutable|{item.immutable_id}".encode()).digest()[:22]
    )


def id_as(user, item, fmt: str) -> str:
    if fmt == "restId":
        return item.rest_id
    if fmt == "restImmutableEntryId":
        return item.immutable_id
    if fmt == "ewsId":
        return rest_to_ews(item.rest_id)
    if fmt == "entryId":
        return encode_binary(entry_id(user, item))
    return encode_binary(immutable_entry_id(user, item))


def find(user, source: str, fmt: str):
    """The message or contact with id `source` in format `fmt`, or None."""
    items = list(user.mailbox.messages.values()) + list(user.mailbox.contacts.values())
    if fmt == "ewsId":
        source, fmt = ews_to_rest(source), "restId"
    for item in items:
        if fmt == "restId" and item.rest_id == source:
            return item
        if fmt == "restImmutableEntryId" and item.immutable_id == source:
            return item
        if fmt in ("entryId", "immutableEntryId") and id_as(user, item, fmt) == source:
            return item
    return None


@route("POST", "{USER}/translateexchangeids")
def translate(req, user=None):
    """Translate up to 1000 ids of one mailbox from one format to another."""
    owner = access.mailbox(req, user, "user.read")
    body = req.json()
    ids, source, target = body.get("inputIds"), body.get("sourceIdType"), body.get("targetIdType")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise bad_request(
            "The parameter 'inputIds' is required and must be a collection of strings.", "ErrorInvalidRequest"
        )
    if len(ids) > MAX_IDS:
        raise bad_request(f"The number of ids ({len(ids)}) exceeds the maximum of {MAX_IDS}.", "ErrorInvalidRequest")
    for name, value in (("sourceIdType", source), ("targetIdType", target)):
        if value not in FORMATS:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The value '{value}' of parameter '{name}' is not a valid microsoft.graph.exchangeIdFormat.",
            )
    value = []
    with req.store.lock:
        for source_id in ids:
            item = find(owner, source_id, source)
            if item is None:
                value.append(
                    {
                        "sourceId": source_id,
                        "errorDetails": {"code": "ErrorInvalidIdMalformed", "message": "Id is malformed."},
                    }
                )
            else:
                value.append({"sourceId": source_id, "targetId": id_as(owner, item, target)})
    return ok({"@odata.context": req.context("Collection(microsoft.graph.convertIdResult)"), "value": value})
