"""Who is calling: the Principal behind a validated token, and the errors that refuse one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from server.errors import ApiError

UNAVAILABLE_MESSAGE = "Microsoft's sign-in service could not be reached. Try again in a moment."
# The tenant Entra ID puts personal Microsoft accounts (outlook.com, hotmail.com, live.com) in.
PERSONAL_ACCOUNTS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
PERSONAL_ACCOUNT_MESSAGE = (
    "Personal Microsoft accounts (outlook.com, hotmail.com, live.com) cannot use CRM Sync. "
    "Sign in with your work or school account."
)

# Who administers CRM Sync is decided in Entra ID, never in our database: users (or
# groups) assigned the app role ADMIN_APP_ROLE of the app registration, whose value
# Entra puts in the `roles` claim, and the tenant's Global Administrators, whose
# directory role's template id is in the `wids` claim (with the manifest's
# groupMembershipClaims set to "DirectoryRole" or "All"), so that a new tenant always
# has someone who can administer it.
ADMIN_APP_ROLE = "Crm.Admin"
GLOBAL_ADMINISTRATOR_TEMPLATE_ID = "62e90394-69f5-4237-9190-012177145e10"


def claims_grant_admin(roles, wids) -> bool:
    """Whether a user token's `roles` and `wids` make its user an administrator."""
    return ADMIN_APP_ROLE in set(roles or ()) or GLOBAL_ADMINISTRATOR_TEMPLATE_ID in {
        str(w).lower() for w in wids or ()
    }


def string_claims(value) -> frozenset:
    """The strings of a list claim (`roles`, `wids`); anything else is ignored."""
    if not isinstance(value, (list, tuple)):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))


class AuthError(ApiError):
    """The bearer token was refused: 401 with the one error shape."""

    def __init__(self, code: str, message: str):
        super().__init__(401, code, message)


def identity_unavailable() -> ApiError:
    return ApiError(503, "identity_unavailable", UNAVAILABLE_MESSAGE, retry_after=5)


@dataclass(frozen=True)
class Principal:
    """The caller of one request, from a validated token."""

    tid: str
    oid: str
    upn: str | None
    name: str | None
    scopes: frozenset = frozenset()
    roles: frozenset = frozenset()
    token: str = field(default="", repr=False)  # the assertion for on-behalf-of
    app_only: bool = False
    wids: frozenset = frozenset()  # the user's directory roles (template ids)

    @property
    def is_admin(self) -> bool:
        """Whether the signed-in user administers CRM Sync (from the token's claims
        only; an app-only caller is nobody's administrator)."""
        return not self.app_only and claims_grant_admin(self.roles, self.wids)


def is_guid(value: str) -> bool:
    """Whether `value` is a GUID, as tenant and object ids are."""
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def is_personal_account(tid: str) -> bool:
    """Whether `tid` is the tenant of personal Microsoft accounts."""
    return str(tid).lower() == PERSONAL_ACCOUNTS_TENANT


def client_ids(raw) -> frozenset[str]:
    """A comma-separated setting of client application ids, as a set of lower-case ids."""
    values = raw if isinstance(raw, (list, tuple, set, frozenset)) else str(raw or "").split(",")
    return frozenset(v.strip().lower() for v in values if v and v.strip())
