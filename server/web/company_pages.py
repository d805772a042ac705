"""The companies' pages (/crm/companies...): the list by name, and one company with
its contacts and emails."""

from __future__ import annotations

from flask import render_template, request

from server.crm.models import Company
from server.db import db_session
from server.web import page_queries
from server.web.blueprint import bp
from server.web.tenant_scope import found, tenant


@bp.get("/crm/companies")
def companies():
    """Companies by name."""
    page = page_queries.companies_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/companies.html", page=page)


@bp.get("/crm/companies/<int:company_id>")
def company(company_id: int):
    """One company: its contacts and the emails filed on it."""
    db = db_session()
    firm = found(Company.get(db, tenant(), company_id))
    people, total = page_queries.company_contacts(db, tenant(), firm.id)
    page = page_queries.emails_page(db, tenant(), request.args.get("after"), ("company", firm.id))
    return render_template("crm/company.html", company=firm, contacts=people, contact_total=total, page=page)
