"""CRM records over REST: contacts and companies of the caller's tenant.

Bearer tokens as everywhere in /api/v1: the pane's delegated token, or an
app-only token carrying the app role Crm.ReadWrite.All (server-to-server
integrations). The tenant is always the token's `tid`; another tenant's record
answers 404 exactly like a missing one.
"""
from __future__ import annotations

import marshmallow as ma

from server.api import Blueprint, ErrorSchema
from server.auth import current_principal, require_auth
from server.crm import companies, contacts, keyset, record_errors
from server.db import db_session
from server.errors import ApiError

CRM_ROLE = "Crm.ReadWrite.All"

bp = Blueprint("crm_records", __name__, url_prefix="/api/v1/crm",
               description="CRM contacts and companies of the caller's tenant. Delegated tokens "
                           "(scope access_as_user) or app-only tokens with the app role "
                           f"{CRM_ROLE}. Lists are keyset-paginated: pass `next` as `after`.")

SECURITY = [{"bearerAuth": []}]
NAME = ma.validate.Length(max=256)
PHONE = ma.validate.Length(max=64)


class CrmCompanyRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class CrmContactSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True, metadata={"description": "What to show: display name, else first + last, else the first email"})
    first_name = ma.fields.String(required=True)
    last_name = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    job_title = ma.fields.String(required=True)
    business_phone = ma.fields.String(required=True)
    mobile_phone = ma.fields.String(required=True)
    emails = ma.fields.List(ma.fields.String(), attribute="addresses", required=True,
                            metadata={"description": "Normalised addresses (domain IDNA-encoded)"})
    company = ma.fields.Nested(CrmCompanyRefSchema, allow_none=True, required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class CrmContactInputSchema(ma.Schema):
    first_name = ma.fields.String(validate=NAME)
    last_name = ma.fields.String(validate=NAME)
    display_name = ma.fields.String(validate=ma.validate.Length(max=512))
    job_title = ma.fields.String(validate=NAME)
    business_phone = ma.fields.String(validate=PHONE)
    mobile_phone = ma.fields.String(validate=PHONE)
    emails = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=320)),
                            validate=ma.validate.Length(max=50))
    company = ma.fields.String(allow_none=True, validate=NAME,
                               metadata={"description": "Company name: matched ignoring case and spacing, "
                                                        "created if new; null removes the company"})
    company_id = ma.fields.Integer(allow_none=True, metadata={"description": "Or an existing company's id"})

    @ma.validates_schema
    def one_company(self, data, **kwargs):
        if "company" in data and "company_id" in data:
            raise ma.ValidationError("Give company or company_id, not both.", "company")


class CrmCompanySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    domains = ma.fields.List(ma.fields.String(), required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class CrmCompanyCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    domains = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=253)),
                             validate=ma.validate.Length(max=100))


class CrmCompanyUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=256))
    domains = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=253)),
                             validate=ma.validate.Length(max=100))


class CrmListArgsSchema(ma.Schema):
    q = ma.fields.String(validate=ma.validate.Length(max=200),
                         metadata={"description": "Prefix of a name, an email address or a company"})
    limit = ma.fields.Integer(load_default=keyset.DEFAULT_LIMIT,
                              validate=ma.validate.Range(min=1, max=keyset.MAX_LIMIT))
    after = ma.fields.String(validate=ma.validate.Length(max=2000),
                             metadata={"description": "The `next` cursor of the previous page"})


class CrmContactPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CrmContactSchema), required=True)
    next = ma.fields.String(allow_none=True, required=True,
                            metadata={"description": "Cursor for the next page (`after`), null on the last"})


class CrmCompanyPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CrmCompanySchema), required=True)
    next = ma.fields.String(allow_none=True, required=True)


def _tenant() -> str:
    return current_principal().tid


def _crm(call, *args, **kwargs):
    """Runs a records call, turning its exceptions into the one error shape."""
    try:
        return call(db_session(), _tenant(), *args, **kwargs)
    except record_errors.RecordNotFound:
        raise ApiError(404, "not_found", "No such record.") from None
    except record_errors.RecordInvalid as exc:
        raise ApiError(400, "invalid_request", exc.message, details={exc.field: [exc.message]}) from None
    except record_errors.RecordConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except keyset.InvalidCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc)) from None


def _documented(view):
    view = bp.alt_response(401, schema=ErrorSchema, description="Missing or invalid bearer token")(view)
    return bp.doc(security=SECURITY)(view)


# -- contacts ------------------------------------------------------------------------

@bp.get("/contacts")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmListArgsSchema, location="query")
@bp.response(200, CrmContactPageSchema)
@_documented
def list_contacts(args):
    """List contacts by name; `q` searches name, email and company prefixes."""
    page = _crm(contacts.list_contacts, q=args.get("q"), limit=args["limit"], after=args.get("after"))
    return {"items": page.rows, "next": page.next_cursor}


@bp.post("/contacts")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmContactInputSchema)
@bp.response(201, CrmContactSchema)
@_documented
def create_contact(body):
    """Create a contact."""
    return _crm(contacts.create_contact, body, tidy=True, commit=True)


@bp.get("/contacts/<int:contact_id>")
@require_auth(role=CRM_ROLE)
@bp.response(200, CrmContactSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such contact in your tenant")
@_documented
def get_contact(contact_id):
    """Get a contact."""
    return _crm(contacts.get_contact, contact_id)


@bp.patch("/contacts/<int:contact_id>")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmContactInputSchema)
@bp.response(200, CrmContactSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such contact in your tenant")
@_documented
def update_contact(body, contact_id):
    """Change a contact's fields (those present; `emails` replaces the list)."""
    return _crm(contacts.update_contact, contact_id, body)


@bp.delete("/contacts/<int:contact_id>")
@require_auth(role=CRM_ROLE)
@bp.response(204)
@bp.alt_response(404, schema=ErrorSchema, description="No such contact in your tenant")
@_documented
def delete_contact(contact_id):
    """Delete a contact; emails filed on it stay filed, shown as "deleted contact"."""
    _crm(contacts.delete_contact, contact_id)


# -- companies -----------------------------------------------------------------------

@bp.get("/companies")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmListArgsSchema, location="query")
@bp.response(200, CrmCompanyPageSchema)
@_documented
def list_companies(args):
    """List companies by name; `q` searches name and domain prefixes."""
    page = _crm(companies.list_companies, q=args.get("q"), limit=args["limit"], after=args.get("after"))
    return {"items": page.rows, "next": page.next_cursor}


@bp.post("/companies")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmCompanyCreateSchema)
@bp.response(201, CrmCompanySchema)
@bp.alt_response(409, schema=ErrorSchema, description="A company of that name exists")
@_documented
def create_company(body):
    """Create a company (names are unique ignoring case and spacing)."""
    return _crm(companies.create_company, body)


@bp.get("/companies/<int:company_id>")
@require_auth(role=CRM_ROLE)
@bp.response(200, CrmCompanySchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such company in your tenant")
@_documented
def get_company(company_id):
    """Get a company."""
    return _crm(companies.get_company, company_id)


@bp.patch("/companies/<int:company_id>")
@require_auth(role=CRM_ROLE)
@bp.arguments(CrmCompanyUpdateSchema)
@bp.response(200, CrmCompanySchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such company in your tenant")
@bp.alt_response(409, schema=ErrorSchema, description="A company of that name exists")
@_documented
def update_company(body, company_id):
    """Rename a company or set its domains."""
    return _crm(companies.update_company, company_id, body)


@bp.delete("/companies/<int:company_id>")
@require_auth(role=CRM_ROLE)
@bp.response(204)
@bp.alt_response(404, schema=ErrorSchema, description="No such company in your tenant")
@_documented
def delete_company(company_id):
    """Delete a company; its contacts stay, without a company."""
    _crm(companies.delete_company, company_id)
