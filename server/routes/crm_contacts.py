"""CRM contacts over REST: list (search), create, get, change, delete, in the caller's tenant.

Bearer tokens as everywhere in /api/v1: the pane's delegated token, or an
app-only token carrying the app role Crm.ReadWrite.All (server-to-server
integrations). The tenant is always the token's `tid`; another tenant's record
answers 404 exactly like a missing one.
"""

from __future__ import annotations

from server.api import Blueprint, ErrorSchema
from server.auth import current_principal, require_auth
from server.crm import contacts
from server.crm.contact_changes import ChangedBy
from server.crm.models import User
from server.db import db_session
from server.routes.route_docs import CRM_RECORDS_DESCRIPTION, CRM_ROLE, crm_record_route
from server.routes.schemas.crm_records import (
    CrmContactInputSchema,
    CrmContactPageSchema,
    CrmContactSchema,
    CrmListArgsSchema,
)

bp = Blueprint(
    "crm_contacts", __name__, url_prefix="/api/v1/crm", description=f"CRM contacts {CRM_RECORDS_DESCRIPTION}"
)
documented = crm_record_route(bp)


def _changed_by() -> ChangedBy:
    """The caller, for the contact's history: the CRM user of a delegated token, else
    the integration named by its app-only token."""
    principal = current_principal()
    user = None if principal.app_only else User.by_oid(db_session(), principal.tid, principal.oid)
    return ChangedBy.user("api", user, principal.name or principal.upn or "integration")


@bp.get("/contacts")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmListArgsSchema, location="query")
@bp.response(200, CrmContactPageSchema)
@documented
def list_contacts(args):
    """List contacts by name; `q` searches name, email and company prefixes."""
    page = contacts.list_contacts(
        db_session(), current_principal().tid, q=args.get("q"), limit=args["limit"], after=args.get("after")
    )
    return {"items": page.rows, "next": page.next_cursor}


@bp.post("/contacts")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmContactInputSchema)
@bp.response(201, CrmContactSchema)
@documented
def create_contact(body):
    """Create a contact."""
    return contacts.create_contact(
        db_session(), current_principal().tid, body, tidy=True, commit=True, changed_by=_changed_by()
    )


@bp.get("/contacts/<int:contact_id>")
@require_auth(role=CRM_ROLE)
@bp.response(200, CrmContactSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such contact in your tenant")
@documented
def get_contact(contact_id):
    """Get a contact."""
    return contacts.get_contact(db_session(), current_principal().tid, contact_id)


@bp.patch("/contacts/<int:contact_id>")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmContactInputSchema)
@bp.response(200, CrmContactSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such contact in your tenant")
@documented
def update_contact(body, contact_id):
    """Change a contact's fields (those present; `emails` replaces the list)."""
    return contacts.update_contact(db_session(), current_principal().tid, contact_id, body, _changed_by())


@bp.delete("/contacts/<int:contact_id>")
@require_auth(role=CRM_ROLE)
@bp.response(204)
@bp.alt_response(404, schema=ErrorSchema, description="No such contact in your tenant")
@documented
def delete_contact(contact_id):
    """Delete a contact; emails filed on it stay filed, shown as "deleted contact"."""
    contacts.delete_contact(db_session(), current_principal().tid, contact_id, _changed_by())
