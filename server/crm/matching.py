"""Matching message addresses to CRM contacts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import String, and_, any_, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from server.crm.addresses import normalise_address
from server.crm.models import Company, Contact, ContactEmail
from server.crm.prepared import Prepared


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
    company_id: int | None  # only when it is the contact's tenant's own, as `company`
    company: MatchedCompany | None
    tenant_id: str = ""  # whose contact (and company): read within that tenant


# The statement is on the tables, not the mapped classes: it reads plain rows, and a
# Core statement skips the ORM's per-execution work (the pane's open and sync match
# every time; bench/b1_profile.py).
_emails = ContactEmail.__table__
_contacts = Contact.__table__
_companies = Company.__table__

# Contact.name falls back to the first address; only nameless contacts run this subquery.
_first = _emails.alias("first_email")
_first_address = (
    select(_first.c.address)
    .where(_first.c.contact_id == _contacts.c.id)
    .order_by(_first.c.position)
    .limit(1)
    .correlate(_contacts)
    .scalar_subquery()
)
_nameless = and_(_contacts.c.display_name == "", _contacts.c.first_name == "", _contacts.c.last_name == "")


def _statement(address_filter):
    return (
        select(
            _emails.c.address,
            _contacts.c.id,
            _contacts.c.display_name,
            _contacts.c.first_name,
            _contacts.c.last_name,
            _companies.c.id,
            _companies.c.name,
            case((_nameless, _first_address)),
        )
        .select_from(_emails)
        .join(_contacts, _contacts.c.id == _emails.c.contact_id)
        # The company only when it is the tenant's own: filing links it unchecked
        # (filing.py `file_email`'s `known`), and the pane shows its name.
        .outerjoin(
            _companies,
            and_(_companies.c.id == _contacts.c.company_id, _companies.c.tenant_id == bindparam("tenant_id")),
        )
        .where(
            _emails.c.tenant_id == bindparam("tenant_id"),
            address_filter,
            _contacts.c.tenant_id == bindparam("tenant_id"),
            _contacts.c.deleted_at.is_(None),
        )
        .order_by(_contacts.c.display_name, _contacts.c.last_name, _contacts.c.first_name, _contacts.c.id)
    )


# The addresses are one parameter, so the SQL text is the same for every message (and
# prepared.py can run it): an array on PostgreSQL, a JSON list that SQLite's json_each
# unpacks elsewhere (the address index is still searched once per address).
_BY_ARRAY = Prepared(_statement(_emails.c.address == any_(bindparam("addresses", type_=ARRAY(String)))))
_BY_JSON = Prepared(
    _statement(_emails.c.address.in_(select(func.json_each(bindparam("addresses_json")).table_valued("value").c.value)))
)


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
    if session.get_bind().dialect.name == "postgresql":
        statement, listed = _BY_ARRAY, {"addresses": wanted}
    else:
        statement, listed = _BY_JSON, {"addresses_json": json.dumps(wanted)}
    # Plain rows, not ORM entities: building ~250 Contacts and Companies in the identity
    # map was most of a match's time (bench/b2_matching.py).
    contacts: dict[int, MatchedContact] = {}
    companies: dict[int, MatchedCompany] = {}
    rows = statement.rows(session, {"tenant_id": tenant_id, **listed})
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
                contact_id, name, display_name, first_name, last_name, company_id, company, tenant_id
            )
        found[address].append(contact)
    return found
