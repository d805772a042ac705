"""Arranging CRM records for tests."""

from __future__ import annotations

from server.crm.models import Company, Contact
from server.crm.tenants import get_or_create_tenant


def add_contact(session, tenant_id: str, name: str, *addresses: str, company: str | None = None) -> Contact:
    get_or_create_tenant(session, tenant_id)
    first, _, last = name.partition(" ")
    contact = Contact(tenant_id=tenant_id, first_name=first, last_name=last, display_name=name)
    if company:
        contact.company = Company.by_name(session, tenant_id, company) or Company(tenant_id=tenant_id, name=company)
    session.add(contact)
    for address in addresses:
        contact.add_address(address)
    session.commit()
    return contact


def seed_contoso(session, tenant_id: str) -> dict[str, Contact]:
    """The CRM of Contoso: the test mailbox's correspondents, one address shared by two contacts."""
    return {
        "lynne": add_contact(
            session, tenant_id, "Lynne Robbins", "lynne.robbins@northwind.example", company="Northwind Traders"
        ),
        "diego": add_contact(
            session, tenant_id, "Diego Siciliani", "diego.siciliani@tailspin.example", company="Tailspin Toys"
        ),
        "jan": add_contact(session, tenant_id, "Jan Novák", "jan@bücher.example", company="Bücher"),
        "orders": add_contact(
            session, tenant_id, "Orders Desk", "lynne.robbins@northwind.example", company="Northwind Traders"
        ),
    }
