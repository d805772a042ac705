"""Schemas of the CRM records API: contacts and companies, and their keyset pages."""

from __future__ import annotations

import marshmallow as ma

from server.crm.keyset import DEFAULT_LIMIT, MAX_LIMIT
from server.routes.schemas.field_limits import Limited


class CrmCompanyRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class CrmContactSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(
        required=True, metadata={"description": "What to show: display name, else first + last, else the first email"}
    )
    first_name = ma.fields.String(required=True)
    last_name = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    job_title = ma.fields.String(required=True)
    business_phone = ma.fields.String(required=True)
    mobile_phone = ma.fields.String(required=True)
    emails = ma.fields.List(
        ma.fields.String(),
        attribute="addresses",
        required=True,
        metadata={"description": "Normalised addresses (domain IDNA-encoded)"},
    )
    company = ma.fields.Nested(CrmCompanyRefSchema, allow_none=True, required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class CrmContactInputSchema(ma.Schema):
    first_name = ma.fields.String(validate=Limited("first_name"))
    last_name = ma.fields.String(validate=Limited("last_name"))
    display_name = ma.fields.String(validate=Limited("display_name"))
    job_title = ma.fields.String(validate=Limited("job_title"))
    business_phone = ma.fields.String(validate=Limited("business_phone"))
    mobile_phone = ma.fields.String(validate=Limited("mobile_phone"))
    emails = ma.fields.List(
        ma.fields.String(validate=Limited("email", "emails", min=1)), validate=ma.validate.Length(max=50)
    )
    company = ma.fields.String(
        allow_none=True,
        validate=Limited("company"),
        metadata={
            "description": "Company name: matched ignoring case and spacing, created if new; null removes the company"
        },
    )
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
    name = ma.fields.String(required=True, validate=Limited("company", "name", min=1))
    domains = ma.fields.List(
        ma.fields.String(validate=Limited("domain", "domains", min=1)), validate=ma.validate.Length(max=100)
    )


class CrmCompanyUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=Limited("company", "name", min=1))
    domains = ma.fields.List(
        ma.fields.String(validate=Limited("domain", "domains", min=1)), validate=ma.validate.Length(max=100)
    )


class CrmListArgsSchema(ma.Schema):
    q = ma.fields.String(
        validate=ma.validate.Length(max=200),
        metadata={"description": "Prefix of a name, an email address or a company"},
    )
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT))
    after = ma.fields.String(
        validate=ma.validate.Length(max=2000), metadata={"description": "The `next` cursor of the previous page"}
    )


class CrmContactPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CrmContactSchema), required=True)
    next = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "Cursor for the next page (`after`), null on the last"}
    )


class CrmCompanyPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CrmCompanySchema), required=True)
    next = ma.fields.String(allow_none=True, required=True)
