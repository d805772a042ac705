"""The contacts' pages (/crm/contacts...): the list by name, and one contact with its
company, linked Outlook contacts, emails and the history of its changes."""

from __future__ import annotations

from flask import render_template, request

from server.crm import cases as crm_cases
from server.crm.models import Contact, ContactChange
from server.db import db_session
from server.web import page_queries
from server.web.blueprint import bp
from server.web.tenant_scope import found, tenant


@bp.get("/crm/contacts")
def contacts():
    """Contacts by name."""
    page = page_queries.contacts_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/contacts.html", page=page)


@bp.get("/crm/contacts/<int:contact_id>")
def contact(contact_id: int):
    """One contact: details, company, linked Outlook contacts, timeline of emails, history."""
    db = db_session()
    person = found(Contact.get(db, tenant(), contact_id, include_deleted=True))
    links = page_queries.outlook_links_of(db, tenant(), person.id)
    users = crm_cases.users_by_id(db, tenant(), [link.user_id for link in links])
    page = page_queries.emails_page(db, tenant(), request.args.get("after"), ("contact", person.id))
    changes = ContactChange.of_contact(db, tenant(), person.id)
    return render_template(
        "crm/contact.html", contact=person, outlook_links=links, users=users, page=page, changes=changes
    )
