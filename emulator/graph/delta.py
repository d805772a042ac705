"""Message delta: GET {user}/mailFolders/{id}/messages/delta.

A round is one or more pages linked by @odata.nextLink ($skiptoken) and ends
with @odata.deltaLink ($deltatoken). Tokens are opaque, signed, and carry the
round's query options ($select, $filter, changeType), as Graph's do. A token
that is unknown, tampered with or from before a reset answers 410 Gone
(SyncStateNotFound): the client must start the folder over.
"""

import re

from emulator import odata
from emulator.graph import access
from emulator.graph.errors import GraphError, bad_request
from emulator.graph.messages import SELECTABLE, folder_of, parse_expand, render
from emulator.graph.routing import ok, route
from emulator.store.errors import SyncStateError

DEFAULT_PAGE = 10
MAX_PAGE = 1000
_FILTER = re.compile(r"^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$", re.IGNORECASE)
_CHANGE_TYPES = ("created", "updated", "deleted")


@route("GET", r"{USER}{FOLDER}/messages/delta(?:\(\))?", first=True)
def message_delta(req, user=None, folder=None):
    """One page of changes to the messages in a folder."""
    owner = access.mailbox(req, user, "mail.read")
    box = folder_of(req, owner, folder)
    store = req.store
    token = odata.option(req.args, "$deltatoken") or odata.option(req.args, "$skiptoken")
    if token is not None:
        state = _read_token(store, token, owner, box)
    else:
        state = _initial_state(req, owner, box)
    select = odata.parse_select(state.get("sel"), "message", SELECTABLE)
    expand = parse_expand(state.get("exp"))
    since = odata.parse_filter(state["flt"], "message", SELECTABLE) if state.get("flt") else None
    page_size = min(req.max_page_size() or state.get("top") or DEFAULT_PAGE, MAX_PAGE)
    immutable = req.wants_immutable_ids()
    change_type = state.get("ct")

    with store.lock:
        entries = store.delta_changes(owner, box, state["p"], initial=state["i"])
        picked, last = [], state["p"]
        for seq, kind, obj in entries:
            last = seq
            if kind == "removed":
                if change_type in (None, "deleted"):
                    picked.append(("removed", obj))
            else:
                if not state["i"] and change_type:
                    created = obj.created_seq > state["b"]
                    if (change_type == "created") != created or change_type == "deleted":
                        continue
                if since is not None and not since(store.message_json(owner, obj)):
                    continue
                picked.append(("message", obj))
            if len(picked) >= page_size:
                break
        more = any(seq > last for seq, _, _ in entries)
        value = []
        for kind, obj in picked:
            if kind == "removed":
                value.append(
                    {
                        "@odata.type": "#microsoft.graph.message",
                        "id": obj.immutable_id if immutable else obj.rest_id,
                        "@removed": {"reason": "deleted"},
                    }
                )
            else:
                item = {"@odata.type": "#microsoft.graph.message"}
                item.update(render(req, owner, obj, select, expand))
                value.append(item)
        if state.get("ord"):
            value.sort(key=lambda v: v.get("receivedDateTime") or "", reverse=True)
        link_path = f"{access.user_path(req, user)}/mailFolders('{box.id}')/messages/delta"
        body = {"@odata.context": req.context("Collection(message)")}
        if more:
            next_state = dict(state, p=last)
            body["@odata.nextLink"] = req.link(link_path, [("$skiptoken", store.make_sync_token(next_state))])
        else:
            next_state = dict(state, i=False, b=store.seq, p=store.seq)
            body["@odata.deltaLink"] = req.link(link_path, [("$deltatoken", store.make_sync_token(next_state))])
        body["value"] = value
    return ok(body)


def _read_token(store, token, owner, box) -> dict:
    try:
        state = store.read_sync_token(token)
    except SyncStateError as e:
        raise GraphError(410, e.code, e.message) from None
    if state.get("u") != owner.oid or state.get("f") != box.id:
        raise GraphError(410, "SyncStateNotFound", "The sync state generation is not found for this folder.")
    return state


def _initial_state(req, owner, box) -> dict:
    args = req.args
    odata.check_options(args, {"$select", "$top", "$filter", "$orderby", "$expand", "$deltatoken", "$skiptoken"})
    select_text = odata.option(args, "$select")
    odata.parse_select(select_text, "message", SELECTABLE)  # validate now, not on page 2
    expand_text = odata.option(args, "$expand")
    parse_expand(expand_text)
    filter_text = odata.option(args, "$filter")
    if filter_text is not None:
        if not _FILTER.match(filter_text):
            raise bad_request(
                "Delta query for messages supports only '$filter=receivedDateTime ge {value}' "
                "or '$filter=receivedDateTime gt {value}'.",
                "ErrorInvalidUrlQueryFilter",
            )
        odata.parse_filter(filter_text, "message", SELECTABLE)
    orderby = odata.option(args, "$orderby")
    if orderby is not None and " ".join(orderby.lower().split()) != "receiveddatetime desc":
        raise bad_request(
            "Delta query for messages supports only '$orderby=receivedDateTime desc'.", "ErrorInvalidUrlQuery"
        )
    change_type = None
    for key, value in args.items():
        if key.lower() == "changetype":
            if value.lower() not in _CHANGE_TYPES:
                raise bad_request(f"Invalid changeType '{value}'; use created, updated or deleted.")
            change_type = value.lower()
    top = odata.parse_int(odata.option(args, "$top"), "$top", None, 1)
    return {
        "u": owner.oid,
        "f": box.id,
        "i": True,
        "b": 0,
        "p": 0,
        "sel": select_text,
        "exp": expand_text,
        "flt": filter_text,
        "ord": bool(orderby),
        "ct": change_type,
        "top": top,
    }
