"""GET /me and /users/{id|upn}: the user's profile (for "Test connection" checks)."""

from emulator import odata
from emulator.graph import access
from emulator.graph.routing import ok, route

PROPERTIES = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
]
# Like Graph, proxyAddresses comes back only when $select names it.
SELECTABLE = {p.lower(): p for p in PROPERTIES + ["proxyAddresses"]}


@route("GET", "{USER}")
def get_user(req, user=None):
    """The signed-in user, or a user of the caller's tenant (app-only: User.Read.All)."""
    owner = access.mailbox(req, user, "user.read")
    odata.check_options(req.args, {"$select"})
    select = odata.parse_select(odata.option(req.args, "$select"), "user", SELECTABLE)
    given, _, surname = owner.display_name.partition(" ")
    body = {
        "businessPhones": [],
        "displayName": owner.display_name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": owner.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": owner.display_language,
        "surname": surname or None,
        "userPrincipalName": owner.upn,
        "id": owner.oid,
    }
    if select and "proxyAddresses" in select:
        body["proxyAddresses"] = [f"SMTP:{owner.mail}"] + [f"smtp:{a}" for a in owner.aliases]
    ctx = "users/$entity" if select is None else "users(" + ",".join(select) + ")/$entity"
    return ok({"@odata.context": req.context(ctx), **odata.apply_select(body, select, ("id",))})
