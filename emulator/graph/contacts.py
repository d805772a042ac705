"""Contacts: create, list (with emailAddresses/any(...) filters), get, update, delete."""

from emulator import odata
from emulator.graph import access
from emulator.graph.errors import bad_request, malformed_id, not_found
from emulator.graph.messages import parse_expand as parse_message_expand
from emulator.graph.messages import validate_properties
from emulator.graph.routing import ok, route
from emulator.store.contacts import contact_defaults
from emulator.store.ids import looks_like_item_id

CONTACT_FIELDS = list(contact_defaults().keys())
READ_ONLY = {
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "parentFolderId",
    "@odata.etag",
    "@odata.type",
    "@odata.context",
}
PROPERTIES = ["id", "createdDateTime", "lastModifiedDateTime", "changeKey", "parentFolderId", *CONTACT_FIELDS]
SELECTABLE = {p.lower(): p for p in PROPERTIES}
FILTERABLE = {**SELECTABLE, "singlevalueextendedproperties": "singleValueExtendedProperties"}
STRING_FIELDS = {
    "birthday",
    "fileAs",
    "displayName",
    "givenName",
    "initials",
    "middleName",
    "nickName",
    "surname",
    "title",
    "yomiGivenName",
    "yomiSurname",
    "yomiCompanyName",
    "generation",
    "jobTitle",
    "companyName",
    "department",
    "officeLocation",
    "profession",
    "businessHomePage",
    "assistantName",
    "manager",
    "mobilePhone",
    "spouseName",
    "personalNotes",
}
STRING_LISTS = {"categories", "imAddresses", "homePhones", "businessPhones", "children"}
ADDRESSES = {"homeAddress", "businessAddress", "otherAddress"}
DEFAULT_PAGE = 10


def parse_expand(text):
    expand = parse_message_expand(text)
    if "attachments" in expand:
        raise odata.ODataError(
            "Could not find a property named 'attachments' on type 'microsoft.graph.contact'.",
            "RequestBroker--ParseUri",
        )
    return expand


def render(req, user, contact, select=None, expand=None) -> dict:
    out = odata.apply_select(req.store.contact_json(user, contact, req.wants_immutable_ids()), select)
    for name, item in (expand or {}).items():
        props = list(contact.ext_props.values()) if name == "singleValueExtendedProperties" else []
        if item.compiled is not None:
            props = [p for p in props if item.compiled(p)]
        if props:
            out[name] = [dict(p) for p in props]
    return out


def contact_of(req, user, item_id):
    if not looks_like_item_id(item_id):
        raise malformed_id()
    contact = req.store.contact(user, item_id)
    if contact is None:
        raise not_found()
    return contact


def validate(body: dict):
    """(fields, extended properties) from a create/update body; GraphError(400) when invalid."""
    fields, props = {}, []
    for key, value in body.items():
        if key in READ_ONLY or key.startswith("@odata."):
            continue
        if key == "singleValueExtendedProperties":
            props = validate_properties(value)
            continue
        if key not in CONTACT_FIELDS:
            raise bad_request(
                f"The property '{key}' does not exist on type 'microsoft.graph.contact'. Make sure to "
                f"only use property names that are defined by the type or mark the type as open type.",
                "RequestBodyRead",
            )
        if key == "emailAddresses":
            if not isinstance(value, list) or not all(
                isinstance(e, dict)
                and isinstance(e.get("address", ""), str)
                and isinstance(e.get("name", ""), (str, type(None)))
                for e in value
            ):
                raise bad_request(
                    "Cannot convert the literal to the expected type 'Collection(microsoft.graph.emailAddress)'.",
                    "RequestBodyRead",
                )
            value = [{"name": e.get("name") or e.get("address", ""), "address": e.get("address", "")} for e in value]
        elif key in STRING_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad_request(
                    f"Cannot convert the literal '{value}' to the expected type 'Collection(Edm.String)'.",
                    "RequestBodyRead",
                )
        elif key in ADDRESSES:
            if not isinstance(value, dict):
                raise bad_request(
                    "Cannot convert the literal to the expected type 'microsoft.graph.physicalAddress'.",
                    "RequestBodyRead",
                )
        elif key in STRING_FIELDS and value is not None and not isinstance(value, str):
            raise bad_request(
                f"Cannot convert the literal '{value}' to the expected type 'Edm.String'.", "RequestBodyRead"
            )
        fields[key] = value
    return fields, props


def _context(req, owner, user, select=None, entity=False):
    ctx = f"{access.user_context(req, owner, user)}/contacts"
    if select:
        ctx += "(" + ",".join(select) + ")"
    return req.context(ctx + ("/$entity" if entity else ""))


@route("POST", "{USER}/contacts")
def create_contact(req, user=None):
    """Create a contact in the default Contacts folder."""
    owner = access.mailbox(req, user, "contacts.write")
    fields, props = validate(req.json())
    if props:
        fields["singleValueExtendedProperties"] = props
    with req.store.lock:
        contact = req.store.create_contact(owner, fields)
        body = {"@odata.context": _context(req, owner, user, entity=True)}
        body.update(render(req, owner, contact))
    return ok(body, 201)


@route("GET", "{USER}/contacts")
def list_contacts(req, user=None):
    """Contacts, with $filter (e.g. emailAddresses/any(a:a/address eq '...')), $select, $top, $skip."""
    owner = access.mailbox(req, user, "contacts.read")
    args = req.args
    odata.check_options(args, {"$select", "$top", "$skip", "$filter", "$orderby", "$expand", "$count"})
    select = odata.parse_select(odata.option(args, "$select"), "contact", SELECTABLE)
    expand = parse_expand(odata.option(args, "$expand"))
    filter_text = odata.option(args, "$filter")
    flt = odata.parse_filter(filter_text, "contact", FILTERABLE) if filter_text is not None else None
    orderby = odata.parse_orderby(odata.option(args, "$orderby"), "contact", SELECTABLE)
    top = min(odata.parse_int(odata.option(args, "$top"), "$top", req.max_page_size() or DEFAULT_PAGE, 1), 1000)
    skip = odata.parse_int(odata.option(args, "$skip"), "$skip", 0)
    immutable = req.wants_immutable_ids()
    store = req.store
    with store.lock:
        rows = []
        for c in owner.mailbox.contacts.values():
            view = store.contact_json(owner, c, immutable)
            view["singleValueExtendedProperties"] = list(c.ext_props.values())
            if flt is None or flt(view):
                rows.append((c, view))
        if orderby:
            rows = odata.sort_items(rows, orderby, lambda r, prop: r[1].get(prop))
        total = len(rows)
        value = [render(req, owner, c, select, expand) for c, _ in rows[skip : skip + top]]
    body = {"@odata.context": _context(req, owner, user, select)}
    if odata.parse_bool(odata.option(args, "$count"), "$count"):
        body["@odata.count"] = total
    body["value"] = value
    if skip + top < total:
        params = [(k, v) for k, v in args.items(multi=True) if k.lower() not in ("$skip", "$top")]
        body["@odata.nextLink"] = req.link(req.path, params + [("$top", str(top)), ("$skip", str(skip + top))])
    return ok(body)


@route("GET", "{USER}/contacts{ITEM}")
def get_contact(req, id, user=None):
    """One contact, with $select and $expand of extended properties."""
    owner = access.mailbox(req, user, "contacts.read")
    odata.check_options(req.args, {"$select", "$expand"})
    select = odata.parse_select(odata.option(req.args, "$select"), "contact", SELECTABLE)
    expand = parse_expand(odata.option(req.args, "$expand"))
    with req.store.lock:
        contact = contact_of(req, owner, id)
        body = {"@odata.context": _context(req, owner, user, select, entity=True)}
        body.update(render(req, owner, contact, select, expand))
    return ok(body)


@route("PATCH", "{USER}/contacts{ITEM}")
def update_contact(req, id, user=None):
    """Update fields and merge extended properties; bumps lastModifiedDateTime and changeKey."""
    owner = access.mailbox(req, user, "contacts.write")
    fields, props = validate(req.json())
    with req.store.lock:
        contact = contact_of(req, owner, id)
        req.store.update_contact(owner, contact, fields, props)
        body = {"@odata.context": _context(req, owner, user, entity=True)}
        body.update(render(req, owner, contact))
    return ok(body)


@route("DELETE", "{USER}/contacts{ITEM}")
def delete_contact(req, id, user=None):
    """Delete a contact."""
    owner = access.mailbox(req, user, "contacts.write")
    with req.store.lock:
        req.store.delete_contact(owner, contact_of(req, owner, id))
    return ok(None, 204)
