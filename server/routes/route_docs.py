"""What the OpenAPI document says of an API route beyond its schemas: that it takes a
bearer token, and the 404 it answers for a record outside the caller's organisation."""

from __future__ import annotations

from server.api import Blueprint, ErrorSchema

SECURITY = [{"bearerAuth": []}]


def not_found(bp: Blueprint, what: str):
    """Documents the 404 a route answers for a record outside the caller's tenant."""
    return bp.alt_response(404, schema=ErrorSchema, description=f"No such {what} in your organisation")


# The app role an app-only (server-to-server) caller needs for the CRM records API.
CRM_ROLE = "Crm.ReadWrite.All"

CRM_RECORDS_DESCRIPTION = (
    "of the caller's tenant. Delegated tokens (scope access_as_user) or app-only "
    f"tokens with the app role {CRM_ROLE}. Lists are keyset-paginated: pass `next` "
    "as `after`."
)


def crm_record_route(bp: Blueprint):
    """Documents a CRM records route: bearer security and its 401."""

    def documented(view):
        view = bp.alt_response(401, schema=ErrorSchema, description="Missing or invalid bearer token")(view)
        return bp.doc(security=SECURITY)(view)

    return documented
