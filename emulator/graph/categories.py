"""Outlook master categories: list, create (409 on a duplicate name), get, update colour, delete."""

import re

from emulator import odata
from emulator.graph import access
from emulator.graph.errors import GraphError, bad_request
from emulator.graph.routing import ok, route

SELECTABLE = {"id": "id", "displayname": "displayName", "color": "color"}
_COLOR = re.compile(r"^(none|preset([0-9]|1[0-9]|2[0-4]))$")


def _context(req, owner, user, entity=False):
    return req.context(
        f"{access.user_context(req, owner, user)}/outlook/masterCategories" + ("/$entity" if entity else "")
    )


def _find(owner, category_id):
    for c in owner.mailbox.categories:
        if c["id"].lower() == (category_id or "").lower():
            return c
    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


@route("GET", "{USER}/outlook/mastercategories")
def list_categories(req, user=None):
    """The mailbox's master category list."""
    owner = access.mailbox(req, user, "settings.read")
    odata.check_options(req.args, {"$select", "$filter", "$top", "$skip"})
    select = odata.parse_select(odata.option(req.args, "$select"), "outlookCategory", SELECTABLE)
    filter_text = odata.option(req.args, "$filter")
    flt = odata.parse_filter(filter_text, "outlookCategory", SELECTABLE) if filter_text is not None else None
    with req.store.lock:
        rows = [dict(c) for c in owner.mailbox.categories]
    if flt is not None:
        rows = [r for r in rows if flt(r)]
    return ok(
        {"@odata.context": _context(req, owner, user), "value": [odata.apply_select(r, select, ("id",)) for r in rows]}
    )


@route("POST", "{USER}/outlook/mastercategories")
def create_category(req, user=None):
    """Add a category; a name that exists (case-insensitively) is 409 Conflict."""
    owner = access.mailbox(req, user, "settings.write")
    body = req.json()
    name, color = body.get("displayName"), body.get("color", "preset0")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The displayName property is required.", "ErrorInvalidRequest")
    if not isinstance(color, str) or not _COLOR.match(color.lower()):
        raise bad_request(
            f"Cannot convert the literal '{color}' to the expected type 'microsoft.graph.categoryColor'.",
            "RequestBodyRead",
        )
    for key in body:
        if key not in ("displayName", "color") and not key.startswith("@odata."):
            raise bad_request(
                f"The property '{key}' does not exist on type 'microsoft.graph.outlookCategory'.", "RequestBodyRead"
            )
    with req.store.lock:
        if any(c["displayName"].lower() == name.lower() for c in owner.mailbox.categories):
            raise GraphError(409, "Conflict", f"The category '{name}' already exists in the master category list.")
        created = req.store.add_category(owner, name, color.lower())
    return ok({"@odata.context": _context(req, owner, user, True), **created}, 201)


@route("GET", "{USER}/outlook/mastercategories{ITEM}")
def get_category(req, id, user=None):
    """One category by id."""
    owner = access.mailbox(req, user, "settings.read")
    with req.store.lock:
        return ok({"@odata.context": _context(req, owner, user, True), **_find(owner, id)})


@route("PATCH", "{USER}/outlook/mastercategories{ITEM}")
def update_category(req, id, user=None):
    """Change a category's colour (its name cannot change, as in Graph)."""
    owner = access.mailbox(req, user, "settings.write")
    body = req.json()
    if "displayName" in body:
        raise bad_request("The displayName of a category cannot be changed.", "ErrorInvalidRequest")
    color = body.get("color")
    if not isinstance(color, str) or not _COLOR.match(color.lower()):
        raise bad_request(
            f"Cannot convert the literal '{color}' to the expected type 'microsoft.graph.categoryColor'.",
            "RequestBodyRead",
        )
    with req.store.lock:
        category = _find(owner, id)
        category["color"] = color.lower()
        return ok({"@odata.context": _context(req, owner, user, True), **category})


@route("DELETE", "{USER}/outlook/mastercategories{ITEM}")
def delete_category(req, id, user=None):
    """Remove a category from the master list (messages keep the name)."""
    owner = access.mailbox(req, user, "settings.write")
    with req.store.lock:
        category = _find(owner, id)
        req.store.delete_category(owner, category["id"])
    return ok(None, 204)
