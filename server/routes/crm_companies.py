"""CRM companies over REST: list (search), create, get, change, delete, in the caller's
tenant. Tokens and tenancy as for CRM contacts (routes/crm_contacts.py)."""

from __future__ import annotations

from server.api import Blueprint, ErrorSchema
from server.auth import current_principal, require_auth
from server.crm import companies
from server.db import db_session
from server.routes.route_docs import CRM_RECORDS_DESCRIPTION, CRM_ROLE, crm_record_route
from server.routes.schemas.crm_records import (
    CrmCompanyCreateSchema,
    CrmCompanyPageSchema,
    CrmCompanySchema,
    CrmCompanyUpdateSchema,
    CrmListArgsSchema,
)

bp = Blueprint(
    "crm_companies", __name__, url_prefix="/api/v1/crm", description=f"CRM companies {CRM_RECORDS_DESCRIPTION}"
)
documented = crm_record_route(bp)


@bp.get("/companies")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmListArgsSchema, location="query")
@bp.response(200, CrmCompanyPageSchema)
@documented
def list_companies(args):
    """List companies by name; `q` searches name and domain prefixes."""
    page = companies.list_companies(
        db_session(), current_principal().tid, q=args.get("q"), limit=args["limit"], after=args.get("after")
    )
    return {"items": page.rows, "next": page.next_cursor}


@bp.post("/companies")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmCompanyCreateSchema)
@bp.response(201, CrmCompanySchema)
@bp.alt_response(409, schema=ErrorSchema, description="A company of that name exists")
@documented
def create_company(body):
    """Create a company (names are unique ignoring case and spacing)."""
    return companies.create_company(db_session(), current_principal().tid, body)


@bp.get("/companies/<int:company_id>")
@require_auth(role=CRM_ROLE)
@bp.response(200, CrmCompanySchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such company in your tenant")
@documented
def get_company(company_id):
    """Get a company."""
    return companies.get_company(db_session(), current_principal().tid, company_id)


@bp.patch("/companies/<int:company_id>")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmCompanyUpdateSchema)
@bp.response(200, CrmCompanySchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such company in your tenant")
@bp.alt_response(409, schema=ErrorSchema, description="A company of that name exists")
@documented
def update_company(body, company_id):
    """Rename a company or set its domains."""
    return companies.update_company(db_session(), current_principal().tid, company_id, body)


@bp.delete("/companies/<int:company_id>")
@require_auth(role=CRM_ROLE)
@bp.response(204)
@bp.alt_response(404, schema=ErrorSchema, description="No such company in your tenant")
@documented
def delete_company(company_id):
    """Delete a company; its contacts stay, without a company."""
    companies.delete_company(db_session(), current_principal().tid, company_id)
