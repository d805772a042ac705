"""Matching message addresses to CRM contacts (DESIGN §5)."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, load_only

from server.crm.addresses import normalise_address
from server.crm.models import Company, Contact, ContactEmail


def match_addresses(session: Session, tenant_id: str, addresses: Iterable[str | None]) -> dict[str, list[Contact]]:
    """Contacts of the tenant for each address, in one indexed query.

    Addresses are normalised first (raw forms like "Name <a@b.com>" are fine);
    malformed ones are dropped. The result has a key for every valid normalised
    address (an empty list when nothing matches), and each list holds every
    live contact with that address, ordered by name then id. Soft-deleted
    contacts never match. Each contact's company is loaded with it.
    """
    wanted = list(dict.fromkeys(a for a in map(normalise_address, addresses) if a))
    found: dict[str, list[Contact]] = {address: [] for address in wanted}
    if not wanted:
        return found
    rows = session.execute(
        select(ContactEmail.address, Contact)
        .join(Contact, Contact.id == ContactEmail.contact_id)
        .where(
            ContactEmail.tenant_id == tenant_id,
            ContactEmail.address.in_(wanted),
            Contact.tenant_id == tenant_id,
            Contact.deleted_at.is_(None),
        )
        # Only what callers show and link (name, company): a 250-recipient message loads
        # ~250 contacts, and full rows (timestamps, JSON columns) took most of the time
        # (bench B2). Other attributes still load on first access.
        .options(load_only(Contact.id, Contact.tenant_id, Contact.first_name, Contact.last_name,
                           Contact.display_name, Contact.company_id, Contact.deleted_at),
                 joinedload(Contact.company).load_only(Company.id, Company.tenant_id, Company.name))
        .order_by(Contact.display_name, Contact.last_name, Contact.first_name, Contact.id)
    )
    for address, contact in rows:
        found[address].append(contact)
    return found
