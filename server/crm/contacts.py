"""CRM contacts as contact sync needs them: find by address, create, apply fields,
the Outlook links, and the search behind "Link contact with CRM".

Field values use the sync's plain names: first_name, last_name, display_name,
job_title, company (a name), business_phone, mobile_phone, emails (addresses).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from server.crm.addresses import normalise_address
from server.crm.matching import match_addresses
from server.crm.models import Company, Contact, ContactEmail, OutlookContactLink, User, company_name_key
from server.crm.types import utcnow
from server.crm.upsert import insert_ignore, upsert

SEARCH_LIMIT = 20
# Candidates read before ranking; a prefix this unselective is ranked among these.
SEARCH_CANDIDATES = 200
_LENGTHS = {"first_name": 256, "last_name": 256, "display_name": 512, "job_title": 256,
            "business_phone": 64, "mobile_phone": 64}


def find_by_addresses(session: Session, tenant_id: str, addresses: Iterable[str]) -> Contact | None:
    """The first live contact having any of these addresses (earlier addresses first)."""
    wanted = [a for a in addresses if a]
    matches = match_addresses(session, tenant_id, wanted)
    for address in wanted:
        found = matches.get(normalise_address(address) or "", [])
        if found:
            # Matches are plain values; callers here change the contact, so load it.
            return Contact.get(session, tenant_id, found[0].id)
    return None


def apply_fields(session: Session, contact: Contact, values: Mapping[str, Any]) -> None:
    """Sets the given fields on a contact (absent keys are left alone). A company name
    links the tenant's Company (case- and space-insensitive), created if missing; an
    empty one unlinks it. Does not commit. Raises ValueError for a malformed address."""
    for name, limit in _LENGTHS.items():
        if name in values:
            setattr(contact, name, (values[name] or "")[:limit])
    if "company" in values:
        name = " ".join((values["company"] or "").split())[:256]
        if not name:
            contact.company = None
        elif contact.company is None or contact.company.name_key != company_name_key(name):
            contact.company = Company.get_or_create(session, contact.tenant_id, name)
    if "emails" in values:
        contact.set_addresses(values["emails"] or [])


def create_contact(session: Session, tenant_id: str, values: Mapping[str, Any]) -> Contact:
    """A new contact with these fields (flushed, not committed)."""
    contact = Contact(tenant_id=tenant_id)
    session.add(contact)
    apply_fields(session, contact, values)
    session.flush()
    return contact


def outlook_link(session: Session, user: User, outlook_contact_id: str) -> OutlookContactLink | None:
    return OutlookContactLink.by_outlook_id(session, user.tenant_id, user.id, outlook_contact_id)


def outlook_links(session: Session, user: User,
                  outlook_contact_ids: Iterable[str]) -> dict[str, OutlookContactLink]:
    """The user's links for these Outlook contact ids, in one query."""
    ids = list(dict.fromkeys(i for i in outlook_contact_ids if i))
    if not ids:
        return {}
    rows = session.scalars(
        select(OutlookContactLink)
        .where(OutlookContactLink.tenant_id == user.tenant_id, OutlookContactLink.user_id == user.id,
               OutlookContactLink.outlook_contact_id.in_(ids))
        .options(joinedload(OutlookContactLink.contact).joinedload(Contact.company),
                 joinedload(OutlookContactLink.contact).selectinload(Contact.emails))
        # A long-lived session (automatic sync) must see other writers' changes.
        .execution_options(populate_existing=True)
    ).unique().all()
    return {link.outlook_contact_id: link for link in rows}


def save_outlook_link(session: Session, user: User, outlook_contact_id: str, contact: Contact,
                      snapshot: Mapping[str, Any], synced_at: datetime | None = None) -> OutlookContactLink:
    """Pairs the user's Outlook contact with a CRM contact (replacing an earlier pair
    of that Outlook contact) and stores the agreed snapshot. Race-safe; does not commit."""
    if contact.tenant_id != user.tenant_id:
        raise ValueError("contact belongs to another tenant")
    upsert(session, OutlookContactLink,
           {"tenant_id": user.tenant_id, "user_id": user.id, "outlook_contact_id": outlook_contact_id,
            "contact_id": contact.id, "snapshot": dict(snapshot), "last_synced_at": synced_at or utcnow()},
           conflict=["user_id", "outlook_contact_id"], update=["contact_id", "snapshot", "last_synced_at"])
    return session.scalar(
        select(OutlookContactLink)
        .where(OutlookContactLink.user_id == user.id,
               OutlookContactLink.outlook_contact_id == outlook_contact_id)
        .execution_options(populate_existing=True))


def claim_outlook_contact(session: Session, user: User, outlook_contact_id: str,
                          contact: Contact) -> OutlookContactLink:
    """Pairs a just-created CRM contact with the Outlook contact it was made for,
    unless a concurrent sync paired that Outlook contact first: then the new contact
    is rolled back and the winner's pair is returned. Commits either way."""
    try:
        won = insert_ignore(session, OutlookContactLink,
                            {"tenant_id": user.tenant_id, "user_id": user.id,
                             "outlook_contact_id": outlook_contact_id, "contact_id": contact.id,
                             "snapshot": {}},
                            ["user_id", "outlook_contact_id"])
        if won:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    link = session.scalar(
        select(OutlookContactLink)
        .where(OutlookContactLink.user_id == user.id,
               OutlookContactLink.outlook_contact_id == outlook_contact_id)
        .execution_options(populate_existing=True))
    assert link is not None
    return link


def is_linked_in_outlook(session: Session, tenant_id: str, contact_ids: Iterable[int]) -> set[int]:
    """Which of these contacts some user of the tenant has linked to an Outlook contact."""
    ids = list(set(contact_ids))
    if not ids:
        return set()
    return set(session.scalars(
        select(OutlookContactLink.contact_id)
        .where(OutlookContactLink.tenant_id == tenant_id, OutlookContactLink.contact_id.in_(ids))))


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def search_contacts(session: Session, tenant_id: str, query: str, limit: int = SEARCH_LIMIT) -> list[Contact]:
    """Live contacts of the tenant whose name, address or company starts with the
    query, best first, at most `limit` (20).

    Every word must start a first name, last name, display name, address or company
    name; the whole query may also start a display name, address or company name.
    Ranked: exact address or name, then names starting with the query, then
    addresses, then companies; ties by name.
    """
    text = " ".join((query or "").split())
    if not text:
        return []
    limit = max(1, min(int(limit), SEARCH_LIMIT))
    whole = text.casefold()

    def starts(column, value):
        # SQLite's lower() folds ASCII only: 'Šťastný' stays as it is there, so the
        # capitalised spelling is tried too (PostgreSQL folds everything).
        spellings = dict.fromkeys([value, value[:1].upper() + value[1:]])
        return or_(*(func.lower(column).like(_like_prefix(s), escape="\\") for s in spellings))

    def word_matches(word: str):
        return or_(
            starts(Contact.first_name, word), starts(Contact.last_name, word),
            starts(Contact.display_name, word),
            Contact.emails.any(ContactEmail.address.like(_like_prefix(word), escape="\\")),
            Contact.company.has(Company.name_key.like(_like_prefix(word), escape="\\")),
        )

    condition = or_(
        and_(*(word_matches(word) for word in whole.split())),
        starts(Contact.display_name, whole),
        Contact.emails.any(ContactEmail.address.like(_like_prefix(whole), escape="\\")),
        Contact.company.has(Company.name_key.like(_like_prefix(company_name_key(text)), escape="\\")),
    )
    candidates = session.scalars(
        select(Contact)
        .where(Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None), condition)
        .options(joinedload(Contact.company), selectinload(Contact.emails))
        .order_by(Contact.display_name, Contact.last_name, Contact.first_name, Contact.id)
        .limit(SEARCH_CANDIDATES)
    ).unique().all()
    ranked = sorted(candidates, key=lambda c: (_rank(c, whole), c.name.casefold(), c.id))
    return ranked[:limit]


def _rank(contact: Contact, whole: str) -> int:
    names = [contact.display_name, " ".join(p for p in (contact.first_name, contact.last_name) if p),
             contact.first_name, contact.last_name]
    names = [n.casefold() for n in names if n]
    addresses = contact.addresses
    if whole in addresses or whole in names:
        return 0
    if any(n.startswith(whole) for n in names):
        return 1
    if any(a.startswith(whole) for a in addresses):
        return 2
    if any(w and any(n.startswith(w) for n in names) for w in whole.split()):
        return 3
    return 4
