"""Contacts and companies as records: tenant-scoped list (keyset pagination,
ranked prefix search), get, create, update, delete. No Flask here; the REST API
(routes/crm_contacts.py, routes/crm_companies.py) and the CRM pages call these.

Deleting a contact is soft (`Contact.soft_delete`): its filed emails stay
filed, matching skips it, and the email pages show the link as "deleted
contact" (web/records.linked_records). Deleting a company removes it; its
contacts stay, without a company.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import Text, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from server.crm.addresses import normalise_address
from server.crm.models import Company, Contact, ContactEmail, company_name_key
from server.crm.tenants import get_or_create_tenant
from server.domain_errors import Conflict, Invalid, NotFound

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CONTACT_FIELDS = ("first_name", "last_name", "display_name", "job_title", "business_phone", "mobile_phone")


class RecordNotFound(NotFound):
    """No such record in this tenant (also when it is another tenant's); `detail`
    says which, for logs: the API answers the same for every record."""

    def __init__(self, detail: str):
        super().__init__("No such record.")
        self.detail = detail


class RecordConflict(Conflict):
    """The change clashes with another record (e.g. a second company of one name)."""


class RecordInvalid(Invalid):
    """A field value the CRM cannot take; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message, details={field: [message]})
        self.field = field


class InvalidCursor(Invalid):
    """The `after` cursor was not one this API handed out."""

    code = "invalid_cursor"


@dataclass
class Page:
    items: list[Any]
    next: str | None


# -- cursors and search terms --------------------------------------------------------

def encode_cursor(key: tuple) -> str:
    raw = json.dumps(list(key), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[int, str, int]:
    """(rank, sort key, id) from a cursor; raises InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        rank, key, id_ = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not valid; start again without 'after'") from None
    if not (isinstance(rank, int) and isinstance(key, str) and isinstance(id_, int)):
        raise InvalidCursor("the cursor is not valid; start again without 'after'")
    return rank, key, id_


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _search_terms(q: str) -> list[str]:
    """Spellings to compare with lower(column). PostgreSQL's lower() folds every
    letter; SQLite's only ASCII, so 'Jiří Šťastný' reads 'jiří Šťastný' there, which
    the ASCII-lowered title-case form of the query ('jiří Š') matches."""
    return list(dict.fromkeys([q.lower(), q.title().translate(_ASCII_LOWER), q.translate(_ASCII_LOWER)]))


def _name_matches(column, terms: list[str]):
    return or_(*(func.lower(column).like(_like_prefix(t), escape="\\") for t in terms))


def _after(rank_expr, key_expr, id_expr, cursor: tuple[int, str, int]):
    rank, key, id_ = cursor
    after_key = or_(key_expr > key, and_(key_expr == key, id_expr > id_))
    if rank_expr is None:
        return after_key
    return or_(rank_expr > rank, and_(rank_expr == rank, after_key))


def _page(session: Session, query, rank_expr, key_expr, id_expr, limit: int, after: str | None) -> Page:
    """One page of `query` in (rank, key, id) order; `rank_expr` None means unranked
    (PostgreSQL reads a constant in ORDER BY as a column position)."""
    limit = max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
    if after:
        query = query.where(_after(rank_expr, key_expr, id_expr, decode_cursor(after)))
    order = [key_expr, id_expr] if rank_expr is None else [rank_expr, key_expr, id_expr]
    columns = [key_expr.label("sort_key")] + ([] if rank_expr is None else [rank_expr.label("rank")])
    rows = session.execute(query.add_columns(*columns).order_by(*order).limit(limit + 1)).all()
    items = [row[0] for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        rank = 0 if rank_expr is None else int(last.rank)
        next_cursor = encode_cursor((rank, last.sort_key or "", last[0].id))
    return Page(items, next_cursor)


# -- contacts ------------------------------------------------------------------------

def list_contacts(session: Session, tenant_id: str, *, q: str | None = None, limit: int = DEFAULT_LIMIT,
                  after: str | None = None) -> Page:
    """Live contacts of the tenant, by name. With `q`: those whose name, email or
    company starts with it, name matches first, then email, then company.
    Raises InvalidCursor for a bad `after`."""
    query = (select(Contact)
             .where(Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None))
             .options(selectinload(Contact.emails), selectinload(Contact.company)))
    key_expr = func.lower(Contact.display_name)  # ix_contacts_tenant_display_name_lower
    q = " ".join((q or "").split())
    rank_expr = None
    if q:
        terms = _search_terms(q)
        by_name = or_(_name_matches(Contact.display_name, terms), _name_matches(Contact.first_name, terms),
                      _name_matches(Contact.last_name, terms))
        # A whole address is also looked up in stored form ('jan@bücher.de' -> 'jan@xn--bcher-kva.de').
        address_terms = dict.fromkeys(t for t in (q.lower(), normalise_address(q)) if t)
        by_email = exists().where(ContactEmail.contact_id == Contact.id, ContactEmail.tenant_id == tenant_id,
                                  or_(*(ContactEmail.address.like(_like_prefix(t), escape="\\")
                                        for t in address_terms)))
        by_company = Contact.company_id.in_(
            select(Company.id).where(Company.tenant_id == tenant_id,
                                     Company.name_key.like(_like_prefix(company_name_key(q)), escape="\\")))
        query = query.where(or_(by_name, by_email, by_company))
        rank_expr = case((by_name, 0), (by_email, 1), else_=2)
    return _page(session, query, rank_expr, key_expr, Contact.id, limit, after)


def get_contact(session: Session, tenant_id: str, contact_id: int) -> Contact:
    """The live contact; raises RecordNotFound."""
    contact = Contact.get(session, tenant_id, contact_id)
    if contact is None:
        raise RecordNotFound(f"contact {contact_id} not found")
    return contact


def create_contact(session: Session, tenant_id: str, data: Mapping[str, Any]) -> Contact:
    """A new contact from `data` (CONTACT_FIELDS, `emails`, `company` name or
    `company_id`); commits. Raises RecordInvalid."""
    get_or_create_tenant(session, tenant_id)
    contact = Contact(tenant_id=tenant_id)
    _set_contact_fields(session, tenant_id, contact, data)
    if not contact.name:
        raise RecordInvalid("display_name", "A contact needs a name or an email address.")
    session.add(contact)
    session.commit()
    return contact


def update_contact(session: Session, tenant_id: str, contact_id: int, data: Mapping[str, Any]) -> Contact:
    """Changes the fields present in `data` (`emails` replaces the list); commits.
    Raises RecordNotFound, RecordInvalid."""
    contact = get_contact(session, tenant_id, contact_id)
    _set_contact_fields(session, tenant_id, contact, data)
    if not contact.name:
        raise RecordInvalid("display_name", "A contact needs a name or an email address.")
    session.commit()
    return contact


def delete_contact(session: Session, tenant_id: str, contact_id: int) -> None:
    """Soft delete: the contact disappears from lists and matching; its emails stay
    filed. Raises RecordNotFound."""
    contact = get_contact(session, tenant_id, contact_id)
    contact.soft_delete()
    session.commit()


def _set_contact_fields(session: Session, tenant_id: str, contact: Contact, data: Mapping[str, Any]) -> None:
    for name in CONTACT_FIELDS:
        if name in data:
            setattr(contact, name, " ".join(str(data[name] or "").split()))
    if "display_name" not in data and ("first_name" in data or "last_name" in data) and not contact.display_name:
        contact.display_name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    if "emails" in data:
        bad = [raw for raw in data["emails"] or [] if normalise_address(raw) is None]
        if bad:
            raise RecordInvalid("emails", f"Not an email address: {bad[0]!r}.")
        contact.set_addresses(data["emails"] or [])
    if "company_id" in data:
        if data["company_id"] is None:
            contact.company = None
        else:
            company = Company.get(session, tenant_id, int(data["company_id"]))
            if company is None:
                raise RecordInvalid("company_id", "No such company.")
            contact.company = company
    elif "company" in data:
        name = " ".join(str(data["company"] or "").split())
        contact.company = company_by_name(session, tenant_id, name) if name else None


def company_by_name(session: Session, tenant_id: str, name: str) -> Company:
    """The company of this name (ignoring case and spacing), created if new."""
    company = Company.by_name(session, tenant_id, name)
    if company is None:
        company = Company(tenant_id=tenant_id, name=name, domains=[])
        session.add(company)
        session.flush()
    return company


# -- companies -----------------------------------------------------------------------

def list_companies(session: Session, tenant_id: str, *, q: str | None = None, limit: int = DEFAULT_LIMIT,
                   after: str | None = None) -> Page:
    """Companies of the tenant, by name. With `q`: name prefix first, then a
    prefix of one of their domains. Raises InvalidCursor for a bad `after`."""
    query = select(Company).where(Company.tenant_id == tenant_id)
    q = " ".join((q or "").split())
    rank_expr = None
    if q:
        by_name = Company.name_key.like(_like_prefix(company_name_key(q)), escape="\\")
        # domains is a JSON list of strings: a domain starts right after a quote.
        by_domain = cast(Company.domains, Text).like("%" + '"' + _like_prefix(q.lower().lstrip("@")), escape="\\")
        query = query.where(or_(by_name, by_domain))
        rank_expr = case((by_name, 0), else_=1)
    return _page(session, query, rank_expr, Company.name_key, Company.id, limit, after)


def get_company(session: Session, tenant_id: str, company_id: int) -> Company:
    company = Company.get(session, tenant_id, company_id)
    if company is None:
        raise RecordNotFound(f"company {company_id} not found")
    return company


def create_company(session: Session, tenant_id: str, data: Mapping[str, Any]) -> Company:
    """Raises RecordInvalid, RecordConflict (a company of that name exists)."""
    get_or_create_tenant(session, tenant_id)
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        raise RecordInvalid("name", "A company needs a name.")
    if Company.by_name(session, tenant_id, name) is not None:
        raise RecordConflict(f"A company named {name!r} exists already.")
    company = Company(tenant_id=tenant_id, name=name, domains=normalise_domains(data.get("domains") or []))
    session.add(company)
    session.commit()
    return company


def update_company(session: Session, tenant_id: str, company_id: int, data: Mapping[str, Any]) -> Company:
    """Raises RecordNotFound, RecordInvalid, RecordConflict."""
    company = get_company(session, tenant_id, company_id)
    if "name" in data:
        name = " ".join(str(data["name"] or "").split())
        if not name:
            raise RecordInvalid("name", "A company needs a name.")
        other = Company.by_name(session, tenant_id, name)
        if other is not None and other.id != company.id:
            raise RecordConflict(f"A company named {name!r} exists already.")
        company.rename(name)
    if "domains" in data:
        company.domains = normalise_domains(data["domains"] or [])
    session.commit()
    return company


def delete_company(session: Session, tenant_id: str, company_id: int) -> None:
    """Removes the company; its contacts stay, without a company, and emails filed on
    it stay filed. Raises RecordNotFound."""
    company = get_company(session, tenant_id, company_id)
    for contact in list(company.contacts):
        contact.company = None
    session.delete(company)
    session.commit()


def normalise_domains(domains: Iterable[str]) -> list[str]:
    """IDNA-encoded, lower-case, unique domains; raises RecordInvalid for a bad one."""
    result: list[str] = []
    for raw in domains:
        text = str(raw or "").strip().lstrip("@")
        address = normalise_address(f"x@{text}") if text else None
        if address is None:
            raise RecordInvalid("domains", f"Not a domain name: {raw!r}.")
        domain = address.rpartition("@")[2]
        if domain not in result:
            result.append(domain)
    return result
