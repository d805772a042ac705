"""Mail folders: list, get (by id or well-known name), child folders, create."""

from emulator import odata
from emulator.graph import access
from emulator.graph.errors import bad_request
from emulator.graph.messages import folder_of
from emulator.graph.routing import ok, route

FOLDER_PROPERTIES = [
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "unreadItemCount",
    "totalItemCount",
    "sizeInBytes",
    "isHidden",
]
SELECTABLE = {p.lower(): p for p in FOLDER_PROPERTIES}
DEFAULT_PAGE = 10


def folder_json(store, user, folder) -> dict:
    total, unread, children = store.folder_counts(user, folder)
    return {
        "id": folder.id,
        "displayName": folder.display_name,
        "parentFolderId": folder.parent_id or folder.id,
        "childFolderCount": children,
        "unreadItemCount": unread,
        "totalItemCount": total,
        "sizeInBytes": sum(len(m.fields["body"].get("content") or "") + 512 for m in store.messages_in(user, folder)),
        "isHidden": folder.is_hidden,
    }


def _list(req, user_ref, parent_ref, context_suffix):
    owner = access.mailbox(req, user_ref, "mail.read")
    store = req.store
    odata.check_options(req.args, {"$select", "$top", "$skip", "$filter", "$count", "$orderby"})
    select = odata.parse_select(odata.option(req.args, "$select"), "mailFolder", SELECTABLE)
    filter_text = odata.option(req.args, "$filter")
    flt = odata.parse_filter(filter_text, "mailFolder", SELECTABLE) if filter_text is not None else None
    top = odata.parse_int(odata.option(req.args, "$top"), "$top", DEFAULT_PAGE, 1)
    skip = odata.parse_int(odata.option(req.args, "$skip"), "$skip", 0)
    include_hidden = (req.args.get("includeHiddenFolders") or "").lower() == "true"
    with store.lock:
        parent = folder_of(req, owner, parent_ref)
        rows = [
            folder_json(store, owner, f)
            for f in owner.mailbox.folders.values()
            if f.parent_id == parent.id and (include_hidden or not f.is_hidden)
        ]
        if flt is not None:
            rows = [r for r in rows if flt(r)]
    body = {"@odata.context": req.context(f"{access.user_context(req, owner, user_ref)}/{context_suffix}")}
    if odata.parse_bool(odata.option(req.args, "$count"), "$count"):
        body["@odata.count"] = len(rows)
    body["value"] = [odata.apply_select(r, select, ("id",)) for r in rows[skip : skip + top]]
    if skip + top < len(rows):
        params = [(k, v) for k, v in req.args.items(multi=True) if k.lower() not in ("$skip", "$top")]
        body["@odata.nextLink"] = req.link(req.path, params + [("$top", str(top)), ("$skip", str(skip + top))])
    return ok(body)


@route("GET", "{USER}/mailfolders")
def list_folders(req, user=None):
    """Top-level mail folders (children of the root)."""
    return _list(req, user, "msgfolderroot", "mailFolders")


@route("GET", "{USER}{FOLDER}/childfolders")
def list_child_folders(req, folder, user=None):
    """Child folders of a folder."""
    return _list(req, user, folder, f"mailFolders('{folder}')/childFolders")


@route("GET", "{USER}{FOLDER}")
def get_folder(req, folder, user=None):
    """One folder, by id or well-known name (inbox, sentitems, drafts, deleteditems, archive...)."""
    owner = access.mailbox(req, user, "mail.read")
    odata.check_options(req.args, {"$select"})
    select = odata.parse_select(odata.option(req.args, "$select"), "mailFolder", SELECTABLE)
    with req.store.lock:
        body = {"@odata.context": req.context(f"{access.user_context(req, owner, user)}/mailFolders/$entity")}
        body.update(odata.apply_select(folder_json(req.store, owner, folder_of(req, owner, folder)), select, ("id",)))
    return ok(body)


def _create(req, user_ref, parent_ref):
    owner = access.mailbox(req, user_ref, "mail.write")
    name = req.json().get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The displayName property is required.", "ErrorInvalidRequest")
    with req.store.lock:
        parent = folder_of(req, owner, parent_ref)
        folder = req.store.add_folder(owner, parent, name.strip())
        body = {"@odata.context": req.context(f"{access.user_context(req, owner, user_ref)}/mailFolders/$entity")}
        body.update(folder_json(req.store, owner, folder))
    return ok(body, 201)


@route("POST", "{USER}/mailfolders")
def create_folder(req, user=None):
    """Create a top-level folder."""
    return _create(req, user, "msgfolderroot")


@route("POST", "{USER}{FOLDER}/childfolders")
def create_child_folder(req, folder, user=None):
    """Create a child folder."""
    return _create(req, user, folder)
