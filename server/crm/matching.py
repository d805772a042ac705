"""Matching message addresses to CRM contacts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import String, and_, any_, bindparam, case, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from server.crm.addresses import normalise_address
from server.crm.models import Company, Contact, ContactEmail


@dataclass(frozen=True, slots=True)
class MatchedCompany:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class MatchedContact:
    """A matched contact as the pane shows and filing links it: read-only values, not a
    session entity (load the Contact by id to change it)."""

    id: int
    name: str
    display_name: str
    first_name: str
    last_name: str
    company_id: int | None
    company: MatchedCompany | None


# Contact.name falls back to the first address; only nameless contacts run this subquery.
_first = aliased(ContactEmail)
_first_address = (
    select(_first.address)
    .where(_first.contact_id == Contact.id)
    .order_by(_first.position)
    .limit(1)
    .correlate(Contact)
    .scalar_subquery()
)
_nameless = and_(Contact.display_name == "", Contact.first_name == "", Contact.last_name == "")


def _statement(address_filter):
    return (
        select(
            ContactEmail.address,
            Contact.id,
            Contact.display_name,
            Contact.first_name,
            Contact.last_name,
            Contact.company_id,
            Company.name,
            case((_nameless, _first_address)),
        )
        .join(Contact, Contact.id == ContactEmail.contact_id)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(
            ContactEmail.tenant_id == bindparam("tenant_id"),
            address_filter,
            Contact.tenant_id == bindparam("tenant_id"),
            Contact.deleted_at.is_(None),
        )
        .order_by(Contact.display_name, Contact.last_name, Contact.first_name, Contact.id)
    )


# PostgreSQL gets one array parameter, so the SQL text is the same for every message;
# SQLite has no arrays and takes the addresses as an expanded IN list.
_BY_ARRAY = _statement(ContactEmail.address == any_(bindparam("addresses", type_=ARRAY(String))))
_BY_LIST = _statement(ContactEmail.address.in_(bindparam("addresses", expanding=True)))


def match_addresses(
    session: Session, tenant_id: str, addresses: Iterable[str | None]
) -> dict[str, list[MatchedContact]]:
    """Contacts of the tenant for each address, in one indexed query.

    Addresses are normalised first (raw forms like "Name <a@b.com>" are fine);
    malformed ones are dropped. The result has a key for every valid normalised
    address (an empty list when nothing matches), and each list holds every
    live contact with that address, ordered by name then id. Soft-deleted
    contacts never match. Each contact comes with its company; a contact matched
    by several addresses is the same object in each list.
    """
    wanted = list(dict.fromkeys(a for a in map(normalise_address, addresses) if a))
    found: dict[str, list[MatchedContact]] = {address: [] for address in wanted}
    if not wanted:
        return found
    statement = _BY_ARRAY if session.get_bind().dialect.name == "postgresql" else _BY_LIST
    # Plain rows, not ORM entities: building ~250 Contacts and Companies in the identity
    # map was most of a match's time (bench/b2_matching.py).
    contacts: dict[int, MatchedContact] = {}
    companies: dict[int, MatchedCompany] = {}
    rows = session.execute(statement, {"tenant_id": tenant_id, "addresses": wanted})
    for address, contact_id, display_name, first_name, last_name, company_id, company_name, first_address in rows:
        contact = contacts.get(contact_id)
        if contact is None:
            company = None
            if company_id is not None:
                company = companies.get(company_id)
                if company is None:
                    company = companies[company_id] = MatchedCompany(company_id, company_name)
            name = display_name or " ".join(p for p in (first_name, last_name) if p) or first_address or ""
            contact = contacts[contact_id] = MatchedContact(
                contact_id, name, display_name, first_name, last_name, company_id, company
            )
        found[address].append(contact)
    return found
