"""Contact records, the one owner of them: find by address, create, change, delete,
list a page of them and search them, for the REST API, the pages, the pane and
contact sync. (The importer writes contacts in bulk: crm/import_applying.py.)

Field values use plain names: first_name, last_name, display_name, job_title,
business_phone, mobile_phone, company (a name) or company_id, emails (addresses).

Every change to an existing contact made through `apply_fields` with a `changed_by`
is recorded (crm/contact_changes.py): the field, old and new value, source, user, time.

Deleting a contact is soft (`Contact.soft_delete`): its filed emails stay filed,
matching skips it, and the email pages show the link as "deleted contact".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import case, intersect, or_, select, union
from sqlalchemy.orm import Session, joinedload, selectinload

from server.crm.addresses import normalise_address
from server.crm.contact_changes import ChangedBy, field_values, record_changes, record_creation, record_deletion
from server.crm.field_limits import check_length, joined_name
from server.crm.folding import fold
from server.crm.keyset import DEFAULT_LIMIT, Page, ranked_page
from server.crm.matching import match_addresses
from server.crm.models import Company, Contact, ContactEmail, company_name_key
from server.crm.prefix_search import prefix_of
from server.crm.record_errors import RecordInvalid, RecordNotFound
from server.crm.tenants import get_or_create_tenant

# Results of the pane's "Link contact with CRM" search.
SEARCH_LIMIT = 20
# Candidates read before ranking; a prefix this unselective is ranked among these.
SEARCH_CANDIDATES = 200
CONTACT_FIELDS = ("first_name", "last_name", "display_name", "job_title", "business_phone", "mobile_phone")


# -- one contact ---------------------------------------------------------------------


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


def get_contact(session: Session, tenant_id: str, contact_id: int) -> Contact:
    """The live contact; raises RecordNotFound."""
    contact = Contact.get(session, tenant_id, contact_id)
    if contact is None:
        raise RecordNotFound(f"contact {contact_id} not found")
    return contact


def apply_fields(
    session: Session, contact: Contact, values: Mapping[str, Any], changed_by: ChangedBy | None = None
) -> None:
    """Sets the given fields on a contact (absent keys are left alone) and, given
    `changed_by`, records each field that changed on a contact that already existed.
    A company name links the tenant's Company (case- and space-insensitive), created
    if missing; an empty one unlinks it; `company_id` (wins over a name) links an
    existing one. Does not commit. Raises FieldTooLong for a value over its field's
    limit (nothing is cut to fit), ValueError for a malformed address, RecordInvalid
    for an unknown company_id."""
    before = field_values(contact) if changed_by is not None and contact.id is not None else None
    _set_fields(session, contact, values)
    if before is not None:
        record_changes(session, contact.tenant_id, contact.id, before, field_values(contact), changed_by)


def _set_fields(session: Session, contact: Contact, values: Mapping[str, Any]) -> None:
    for name in CONTACT_FIELDS:
        if name in values:
            check_length(name, values[name])
    if "company" in values and "company_id" not in values:
        check_length("company", " ".join((values["company"] or "").split()))
    for raw in values.get("emails") or []:
        check_length("email", raw, "emails")
    for name in CONTACT_FIELDS:
        if name in values:
            setattr(contact, name, values[name] or "")
    if "company_id" in values:
        if values["company_id"] is None:
            contact.company = None
        else:
            company = Company.get(session, contact.tenant_id, int(values["company_id"]))
            if company is None:
                raise RecordInvalid("company_id", "No such company.")
            contact.company = company
    elif "company" in values:
        name = " ".join((values["company"] or "").split())
        if not name:
            contact.company = None
        elif contact.company is None or contact.company.name_key != company_name_key(name):
            contact.company = Company.get_or_create(session, contact.tenant_id, name)
    if "emails" in values:
        contact.set_addresses(values["emails"] or [])


def create_contact(
    session: Session,
    tenant_id: str,
    values: Mapping[str, Any],
    *,
    tidy: bool = False,
    commit: bool = False,
    changed_by: ChangedBy | None = None,
) -> Contact:
    """A new contact with these fields (see apply_fields).

    `tidy` is for what a person typed (the REST API): spacing is collapsed, a display
    name is made from first and last name, and a malformed address or a contact
    without any name raises RecordInvalid. Without it (contact sync) the values are
    kept as the other side holds them, and a malformed address raises ValueError.
    `commit` commits, creating the tenant first (an app-only integration may write a
    tenant's first record); otherwise the contact is flushed into the caller's
    transaction. With `changed_by` the history records who created it."""
    if tidy:
        values = _tidied(values)
    if commit:
        get_or_create_tenant(session, tenant_id)
    contact = Contact(tenant_id=tenant_id)
    session.add(contact)
    apply_fields(session, contact, values)
    if tidy:
        _complete_name(contact, values)
    if changed_by is not None:
        session.flush()
        record_creation(session, contact, changed_by)
    if commit:
        session.commit()
    else:
        session.flush()
    return contact


def update_contact(
    session: Session, tenant_id: str, contact_id: int, data: Mapping[str, Any], changed_by: ChangedBy | None = None
) -> Contact:
    """Changes the fields present in `data`, as a person typed them (see create_contact's
    `tidy`; `emails` replaces the list), recorded as `changed_by`; commits. Raises
    RecordNotFound, RecordInvalid."""
    contact = get_contact(session, tenant_id, contact_id)
    data = _tidied(data)
    before = field_values(contact)
    _set_fields(session, contact, data)
    _complete_name(contact, data)
    if changed_by is not None:
        record_changes(session, tenant_id, contact.id, before, field_values(contact), changed_by)
    session.commit()
    return contact


def delete_contact(session: Session, tenant_id: str, contact_id: int, changed_by: ChangedBy | None = None) -> None:
    """Soft delete: the contact disappears from lists and matching; its emails stay
    filed; recorded as `changed_by`. Raises RecordNotFound."""
    contact = get_contact(session, tenant_id, contact_id)
    contact.soft_delete()
    if changed_by is not None:
        record_deletion(session, contact, changed_by)
    session.commit()


def _tidied(data: Mapping[str, Any]) -> dict[str, Any]:
    """A person's input with spacing collapsed; raises RecordInvalid for a malformed address."""
    values = dict(data)
    for name in (*CONTACT_FIELDS, "company"):
        if name in values:
            values[name] = " ".join(str(values[name] or "").split())
    bad = [raw for raw in values.get("emails") or [] if normalise_address(raw) is None]
    if bad:
        raise RecordInvalid("emails", f"Not an email address: {bad[0]!r}.")
    return values


def _complete_name(contact: Contact, data: Mapping[str, Any]) -> None:
    """A display name from first and last name when none is given or kept; raises
    RecordInvalid when the contact is left without any name."""
    if "display_name" not in data and ("first_name" in data or "last_name" in data) and not contact.display_name:
        contact.display_name = joined_name(contact.first_name, contact.last_name)
    if not contact.name:
        raise RecordInvalid("display_name", "A contact needs a name or an email address.")


# -- lists and search ----------------------------------------------------------------


def _addresses_starting(tenant_id: str, prefixes: Iterable[str]):
    """Contact ids having an address that starts with one of the prefixes: an IN
    (subquery) both databases drive from the address index, also inside an OR."""
    return Contact.id.in_(
        select(ContactEmail.contact_id).where(
            ContactEmail.tenant_id == tenant_id, or_(*(prefix_of(ContactEmail.address, p) for p in prefixes))
        )
    )


def _ids_starting(tenant_id: str, prefix: str, address_prefixes: Iterable[str]):
    """SELECT id of the contacts whose first, last or display name, address or company
    name starts with `prefix` (folded) or an address with one of `address_prefixes`:
    a UNION of index range scans."""
    names = [
        select(Contact.id.label("id")).where(Contact.tenant_id == tenant_id, prefix_of(column, prefix))
        for column in (Contact.first_name_fold, Contact.last_name_fold, Contact.display_name_fold)
    ]
    addresses = select(ContactEmail.contact_id.label("id")).where(
        ContactEmail.tenant_id == tenant_id, or_(*(prefix_of(ContactEmail.address, p) for p in address_prefixes))
    )
    companies = select(Contact.id.label("id")).where(
        Contact.tenant_id == tenant_id,
        Contact.company_id.in_(
            select(Company.id).where(Company.tenant_id == tenant_id, prefix_of(Company.name_fold, prefix))
        ),
    )
    return union(*names, addresses, companies)


def _address_prefixes(text: str) -> list[str]:
    """An address as typed and as stored ('jan@bücher.de' -> 'jan@xn--bcher-kva.de')."""
    return list(dict.fromkeys(t for t in (text.lower(), fold(text), normalise_address(text)) if t))


def list_contacts(
    session: Session, tenant_id: str, *, q: str | None = None, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> Page:
    """Live contacts of the tenant, by name, for the REST API. With `q`: those whose
    name, email or company starts with it, ignoring case and accents, name matches
    first, then email, then company. Raises InvalidCursor for a bad `after`."""
    query = (
        select(Contact)
        .where(Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None))
        .options(selectinload(Contact.emails), selectinload(Contact.company))
    )
    key_expr = Contact.display_name_fold  # ix_contacts_tenant_display_name_fold
    q = " ".join((q or "").split())
    rank_expr = None
    if q:
        folded = fold(q)
        by_name = or_(
            prefix_of(Contact.display_name_fold, folded),
            prefix_of(Contact.first_name_fold, folded),
            prefix_of(Contact.last_name_fold, folded),
        )
        by_email = _addresses_starting(tenant_id, _address_prefixes(q))
        # Matching rows found by the index ranges of one compound SELECT (an OR of
        # these conditions would read the whole table on PostgreSQL); the CASE below
        # only ranks the rows found.
        query = query.where(Contact.id.in_(_ids_starting(tenant_id, folded, _address_prefixes(q))))
        rank_expr = case((by_name, 0), (by_email, 1), else_=2)
    return ranked_page(session, query, rank_expr, key_expr, Contact.id, limit, after)


def search_contacts(session: Session, tenant_id: str, query: str, limit: int = SEARCH_LIMIT) -> list[Contact]:
    """Live contacts of the tenant whose name, address or company starts with the
    query, ignoring case and accents ("dvorak" finds "Dvořák"), best first, at most
    `limit` (20).

    Every word must start a first name, last name, display name, address or company
    name; the whole query may also start a display name, address or company name.
    Ranked: exact address or name, then names starting with the query, then
    addresses, then companies; ties by name.
    """
    text = " ".join((query or "").split())
    if not text:
        return []
    limit = max(1, min(int(limit), SEARCH_LIMIT))
    whole = fold(text)
    words = whole.split()
    # The matching ids as one compound SELECT of index ranges (a word's union; the
    # words' intersection), so both databases read index ranges and never the table.
    found = [_ids_starting(tenant_id, whole, _address_prefixes(text))]
    if len(words) > 1:
        each_word = [select(_ids_starting(tenant_id, word, [word]).subquery().c.id) for word in words]
        found.append(intersect(*each_word))
    ids = union(*(select(part.subquery().c.id) for part in found))
    condition = Contact.id.in_(ids)
    candidates = (
        session.scalars(
            select(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None), condition)
            .options(joinedload(Contact.company), selectinload(Contact.emails))
            .order_by(Contact.display_name_fold, Contact.last_name_fold, Contact.first_name_fold, Contact.id)
            .limit(SEARCH_CANDIDATES)
        )
        .unique()
        .all()
    )
    ranked = sorted(candidates, key=lambda c: (_rank(c, whole), fold(c.name), c.id))
    return ranked[:limit]


def _rank(contact: Contact, whole: str) -> int:
    names = [
        contact.display_name,
        " ".join(p for p in (contact.first_name, contact.last_name) if p),
        contact.first_name,
        contact.last_name,
    ]
    names = [fold(n) for n in names if n]
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
