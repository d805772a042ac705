"""Who may do what: the bearer token, the mailbox it may reach, the permission it needs.

Delegated tokens act only on the signed-in user's own mailbox (/me or
/users/<self>) and need a scope in `scp`; app-only tokens reach any mailbox
of their tenant and need an application role in `roles`, unless the tenant scoped
the app to some mailboxes (store/mailbox_scopes.py): any other mailbox then answers
403 ErrorAccessDenied "Access to OData is disabled.", Graph's words for it.
"""

from urllib.parse import quote

from emulator import tokens
from emulator.graph.errors import ODATA_DISABLED, GraphError, access_denied

# permission need -> (delegated scopes, application roles); any one suffices.
PERMISSIONS = {
    "mail.read": (
        {"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"},
        {"Mail.ReadBasic.All", "Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"},
    ),
    "mail.write": ({"Mail.ReadWrite"}, {"Mail.ReadWrite"}),
    "contacts.read": ({"Contacts.Read", "Contacts.ReadWrite"}, {"Contacts.Read", "Contacts.ReadWrite"}),
    "contacts.write": ({"Contacts.ReadWrite"}, {"Contacts.ReadWrite"}),
    "settings.read": (
        {"MailboxSettings.Read", "MailboxSettings.ReadWrite"},
        {"MailboxSettings.Read", "MailboxSettings.ReadWrite"},
    ),
    "settings.write": ({"MailboxSettings.ReadWrite"}, {"MailboxSettings.ReadWrite"}),
    "user.read": (
        {"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All"},
        {"User.Read.All", "User.ReadWrite.All"},
    ),
}

WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


def authenticate(req):
    """The verified Caller of `req` (cached); GraphError(401) for a missing or bad token."""
    if req.caller is None:
        try:
            req.caller = tokens.verify_graph_token(req.state, req.headers.get("Authorization"))
        except tokens.TokenError as e:
            raise GraphError(
                401, e.code or "InvalidAuthenticationToken", e.message, {"WWW-Authenticate": WWW_AUTHENTICATE}
            ) from None
    return req.caller


def require(caller, need: str, extra_roles=()) -> None:
    """GraphError(403) unless the token (or, app-only, `extra_roles` that Exchange's RBAC for
    Applications gives on this mailbox) carries a permission that covers `need`."""
    scopes, roles = PERMISSIONS[need]
    granted = [*caller.roles, *extra_roles] if caller.app_only else caller.scopes
    wanted = roles if caller.app_only else scopes
    if not {g.lower() for g in granted} & {w.lower() for w in wanted}:
        raise access_denied()


def mailbox(req, user_ref: str | None, need: str):
    """The User whose mailbox the request addresses, after every access check.

    `user_ref` is None for /me. Raises GraphError 401/403/404/400 like Graph.
    """
    caller = authenticate(req)
    store = req.store
    if user_ref is None:
        if caller.app_only:
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        user = store.users.get(caller.oid)
        if user is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{caller.upn or caller.oid}' is invalid.")
    else:
        user = store.find_user(user_ref)
        if user is None or user.tid != caller.tid:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user_ref}' is invalid.")
        if not caller.app_only and user.oid != caller.oid:
            raise access_denied()
    mailbox_data = caller.app_only and not need.startswith("user.")  # Exchange's scope: not the directory
    require(caller, need, store.rbac_roles(caller.client_id, user) if mailbox_data else ())
    if mailbox_data and not store.app_reaches(caller.client_id, user):
        raise access_denied(ODATA_DISABLED)
    return user


def user_path(req, user_ref: str | None) -> str:
    """How the request named its user, for links: "/me" or "/users/<ref>"."""
    return "/me" if user_ref is None else f"/users/{user_ref}"


def user_context(req, user, user_ref: str | None) -> str:
    ref = user.oid if user_ref is None else user_ref
    return f"users('{quote(ref, safe='')}')"
