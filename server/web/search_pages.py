"""The CRM's start page (/crm/) and its search across every kind of record (/crm/search)."""

from __future__ import annotations

from flask import render_template, request

from server.db import db_session
from server.web import page_queries
from server.web.blueprint import bp
from server.web.tenant_scope import tenant


@bp.get("/crm/")
def home():
    """Search box and the latest filed emails."""
    latest = page_queries.emails_page(db_session(), tenant(), None)
    return render_template("crm/home.html", latest=latest.rows)


@bp.get("/crm/search")
def search():
    """Prefix search across contacts, companies, emails, cases and tasks."""
    results = page_queries.search(db_session(), tenant(), request.args.get("q"))
    return render_template("crm/search.html", results=results)
