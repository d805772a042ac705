"""Applying one batch of imported rows in one transaction: rows sharing an address
merged, existing contacts and companies found with one query per kind, new
contacts written with bulk INSERTs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from server.crm.addresses import address_domain, normalise_address, normalise_domains
from server.crm.contact_changes import IMPORT, ChangedBy, record_changes
from server.crm.field_limits import FieldTooLong, check_length, check_lengths, joined_name
from server.crm.import_rows import ImportRow, ImportSummary, RowProblem
from server.crm.models import Company, Contact, ContactEmail, Tenant, company_name_key
from server.crm.types import utcnow

# Bound parameters per IN query: well under SQLite's limit, and plans stay cached.
IN_CHUNK = 900

# Mail providers whose domain says nothing about the company someone works for.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "ymail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "zoho.com",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "tutanota.com",
        "seznam.cz",
        "email.cz",
        "centrum.cz",
        "atlas.cz",
        "volny.cz",
        "post.cz",
        "tiscali.cz",
        "wp.pl",
        "onet.pl",
        "o2.pl",
        "interia.pl",
        "op.pl",
        "poczta.fm",
        "gazeta.pl",
        "tlen.pl",
        "libero.it",
        "virgilio.it",
        "web.de",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
    }
)
# gmx.de, gmx.net, gmx.at, ...: every GMX domain.
FREE_MAIL_PREFIXES = ("gmx.",)


def is_free_mail(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    return domain in FREE_MAIL_DOMAINS or domain.startswith(FREE_MAIL_PREFIXES)


@dataclass
class _Group:
    """Rows of one batch that describe one contact (they share an address)."""

    rows: list[ImportRow]
    addresses: list[str]


# An import row's fields and the limits they fall under (the CSV's `phone` is the business phone).
ROW_FIELDS = {"phone": "business_phone"}
ROW_TEXT = ("first_name", "last_name", "display_name", "company", "job_title", "phone", "mobile_phone")


def _over_limit(row: ImportRow) -> str | None:
    """Why the row is refused for a value over its field's limit, None when all fit:
    the import takes what the API and the pages take, and never cuts a value."""
    try:
        check_lengths({name: getattr(row, name) for name in ROW_TEXT}, ROW_FIELDS)
        for raw in row.emails:
            check_length("email", raw)
        for raw in row.company_domains:
            check_length("domain", raw)
    except FieldTooLong as exc:
        return exc.message
    return None


def _prepare(rows: Iterable[ImportRow], summary: ImportSummary) -> list[tuple[ImportRow, list[str]]]:
    prepared = []
    for row in rows:
        summary.rows += 1
        too_long = _over_limit(row)
        if too_long is not None:
            summary.problems.append(RowProblem(row.line, too_long))
            continue
        addresses: list[str] = []
        bad = None
        for raw in row.emails:
            address = normalise_address(raw)
            if address is None:
                bad = raw
                break
            if address not in addresses:
                addresses.append(address)
        if bad is not None:
            summary.problems.append(RowProblem(row.line, f"malformed email address {bad!r}"))
        elif not addresses and not row.has_name() and not row.company:
            summary.problems.append(RowProblem(row.line, "no name and no email address"))
        else:
            prepared.append((row, addresses))
    return prepared


def _group(prepared: list[tuple[ImportRow, list[str]]]) -> list[_Group]:
    """Rows sharing any address become one group (transitively), in file order."""
    groups: list[_Group | None] = []
    owner: dict[str, int] = {}
    for row, addresses in prepared:
        hits = sorted({owner[a] for a in addresses if a in owner})
        if not hits:
            index = len(groups)
            groups.append(_Group([row], list(addresses)))
        else:
            index = hits[0]
            target = groups[index]
            assert target is not None
            for other in hits[1:]:
                merged = groups[other]
                assert merged is not None
                target.rows.extend(merged.rows)
                target.addresses.extend(a for a in merged.addresses if a not in target.addresses)
                for address in merged.addresses:
                    owner[address] = index
                groups[other] = None
            target.rows.append(row)
            target.rows.sort(key=lambda r: r.line)
            target.addresses.extend(a for a in addresses if a not in target.addresses)
        for address in addresses:
            owner[address] = index
    return [g for g in groups if g is not None]


def _chunks(values: list, size: int = IN_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _merged_fields(rows: list[ImportRow]) -> dict:
    """The group's fields: a later row's non-empty value wins."""
    fields = {
        "first_name": "",
        "last_name": "",
        "display_name": "",
        "company": "",
        "job_title": "",
        "phone": "",
        "mobile_phone": "",
    }
    domains: list[str] = []
    for row in rows:
        for key in fields:
            value = getattr(row, key)
            if value:
                fields[key] = value
        domains.extend(d for d in row.company_domains if d not in domains)
    fields["company_domains"] = domains
    return fields


def _existing_by_address(session: Session, tenant_id: str, addresses: list[str]) -> dict[str, Contact]:
    """address -> the contact it belongs to: a live one first (lowest id), else a deleted one.

    Two single-table queries rather than a join: their plans (the (tenant, address)
    index, then primary keys) stay right even before PostgreSQL has statistics for
    tables an import is filling."""
    pairs: list[tuple[str, int]] = []
    for chunk in _chunks(addresses):
        pairs += session.execute(
            select(ContactEmail.address, ContactEmail.contact_id).where(
                ContactEmail.tenant_id == tenant_id, ContactEmail.address.in_(chunk)
            )
        ).all()
    contacts: dict[int, Contact] = {}
    for chunk in _chunks(sorted({contact_id for _, contact_id in pairs})):
        for contact in session.scalars(
            select(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.id.in_(chunk))
            .options(selectinload(Contact.emails))
        ):
            contacts[contact.id] = contact
    found: dict[str, Contact] = {}
    ranked = sorted(((contacts[cid].deleted_at is not None, cid, address) for address, cid in pairs if cid in contacts))
    for _, contact_id, address in ranked:
        found.setdefault(address, contacts[contact_id])
    return found


def _existing_by_name(session: Session, tenant_id: str, names: list[str]) -> dict[tuple[str, int | None], Contact]:
    """(display name, company id) -> live contact, for rows without an address."""
    found: dict[tuple[str, int | None], Contact] = {}
    for chunk in _chunks(names):
        contacts = session.scalars(
            select(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None), Contact.display_name.in_(chunk))
            .options(selectinload(Contact.emails))
            .order_by(Contact.id)
        )
        for contact in contacts:
            key = (contact.display_name, contact.company_id)
            # A contact without addresses is the likelier twin of an address-less row.
            if key not in found or (found[key].emails and not contact.emails):
                found[key] = contact
    return found


def _companies(session: Session, tenant_id: str, names: dict[str, str], summary: ImportSummary) -> dict[str, Company]:
    """name_key -> Company for these {name_key: name}, created when missing (race-safe)."""
    keys = list(names)
    found: dict[str, Company] = {}
    for chunk in _chunks(keys):
        for company in session.scalars(
            select(Company).where(Company.tenant_id == tenant_id, Company.name_key.in_(chunk))
        ):
            found[company.name_key] = company
    missing = [k for k in keys if k not in found]
    if missing:
        now = utcnow()
        summary.companies_created += _insert_ignore_many(
            session,
            Company,
            [
                {
                    "tenant_id": tenant_id,
                    "name": " ".join(names[key].split()),
                    "name_key": key,
                    "domains": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for key in missing
            ],
            ["tenant_id", "name_key"],
        )
    for chunk in _chunks(missing):
        for company in session.scalars(
            select(Company).where(Company.tenant_id == tenant_id, Company.name_key.in_(chunk))
        ):
            found[company.name_key] = company
    return found


def _insert_ignore_many(session: Session, model, rows: list[dict], conflict: list[str]) -> int:
    """One INSERT .. ON CONFLICT DO NOTHING for many rows (a concurrent import may
    have created some); returns how many were inserted."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = 0
    for chunk in _chunks(rows, IN_CHUNK // len(rows[0])):
        statement = dialect.insert(model.__table__).values(chunk).on_conflict_do_nothing(index_elements=conflict)
        inserted += max(session.execute(statement).rowcount, 0)
    return inserted


def _derived_name(first: str, last: str) -> str:
    return joined_name(first, last)


class _NewContact:
    """A contact this batch creates: written with one bulk INSERT at the end."""

    def __init__(self, addresses: list[str]):
        self.first_name = self.last_name = self.display_name = ""
        self.job_title = self.business_phone = self.mobile_phone = ""
        self.company_id: int | None = None
        self.addresses = list(addresses)

    def values(self, tenant_id: str) -> dict:
        return {
            "tenant_id": tenant_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "display_name": self.display_name,
            "job_title": self.job_title,
            "business_phone": self.business_phone,
            "mobile_phone": self.mobile_phone,
            "company_id": self.company_id,
        }


def _apply(contact: Contact | _NewContact, fields: dict, company: Company | None) -> bool:
    """Sets the non-empty fields on the contact; True if anything changed."""
    changed = False
    old_derived = _derived_name(contact.first_name, contact.last_name)
    for key, attribute in (
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("job_title", "job_title"),
        ("phone", "business_phone"),
        ("mobile_phone", "mobile_phone"),
    ):
        value = fields[key]
        if value and getattr(contact, attribute) != value:
            setattr(contact, attribute, value)
            changed = True
    display = fields["display_name"]
    if not display and (not contact.display_name or contact.display_name == old_derived):
        display = _derived_name(contact.first_name, contact.last_name)
    if display and contact.display_name != display:
        contact.display_name = display
        changed = True
    if company is not None and contact.company_id != company.id:
        contact.company_id = company.id
        changed = True
    return changed


def _history_values(contact: Contact, company_names: dict[int, str]) -> dict[str, str]:
    """What the history compares of a contact the import updates (as field_values,
    with company names from `company_names` rather than one query per contact)."""
    return {
        "first_name": contact.first_name or "",
        "last_name": contact.last_name or "",
        "display_name": contact.display_name or "",
        "job_title": contact.job_title or "",
        "company": company_names.get(contact.company_id, "") if contact.company_id is not None else "",
        "business_phone": contact.business_phone or "",
        "mobile_phone": contact.mobile_phone or "",
        "emails": ", ".join(e.address for e in contact.emails),
    }


def _company_names(session: Session, tenant_id: str, contacts: Iterable[Contact], known: dict[str, Company]) -> dict:
    """company id -> name for the companies of these contacts and of this batch (one query)."""
    names = {company.id: company.name for company in known.values()}
    missing = sorted({c.company_id for c in contacts if c.company_id is not None} - set(names))
    for chunk in _chunks(missing):
        names.update(session.execute(select(Company.id, Company.name).where(Company.id.in_(chunk))).all())
    return names


def apply_batch(
    session: Session,
    tenant_id: str,
    rows: list[ImportRow],
    summary: ImportSummary,
    derive_domains: bool,
    changed_by: ChangedBy = IMPORT,
) -> None:
    """Writes one batch of rows in one transaction (committed here); each change to an
    existing contact is recorded in its history as `changed_by`."""
    # Taking the tenant's row lock first serialises concurrent imports into one
    # tenant, so two of them never both create the contact of one address.
    session.execute(update(Tenant).where(Tenant.id == tenant_id).values(name=Tenant.name))
    groups = _group(_prepare(rows, summary))
    addresses = list(dict.fromkeys(a for g in groups for a in g.addresses))
    by_address = _existing_by_address(session, tenant_id, addresses) if addresses else {}
    fields_of = [_merged_fields(g.rows) for g in groups]
    company_names: dict[str, str] = {}
    for fields in fields_of:
        if fields["company"]:
            company_names.setdefault(company_name_key(fields["company"]), fields["company"])
    companies = _companies(session, tenant_id, company_names, summary) if company_names else {}
    by_name: dict[tuple[str, int | None], Contact | _NewContact] = {}
    if any(not g.addresses for g in groups):
        names = list({_display_of(f) for g, f in zip(groups, fields_of) if not g.addresses} - {""})
        by_name.update(_existing_by_name(session, tenant_id, names))
    new_contacts: list[_NewContact] = []
    domains_of: dict[int, list[str]] = {}
    existing = [c for c in by_address.values() if isinstance(c, Contact)]
    existing += [c for c in by_name.values() if isinstance(c, Contact)]
    company_names = _company_names(session, tenant_id, existing, companies)

    for group, fields in zip(groups, fields_of):
        company = companies.get(company_name_key(fields["company"])) if fields["company"] else None
        if company is not None:
            found = domains_of.setdefault(company.id, [])
            found.extend(d for d in normalise_domains(fields["company_domains"], drop_invalid=True) if d not in found)
            if derive_domains:
                found.extend(d for d in map(address_domain, group.addresses) if d not in found)
        if not group.addresses and not _display_of(fields):
            continue  # a row naming only a company: the company is the record
        summary.merged += len(group.rows) - 1
        matches = [by_address[a] for a in group.addresses if a in by_address]
        contact = next((c for c in matches if c.deleted_at is None), matches[0] if matches else None)
        if contact is None and not group.addresses:
            contact = by_name.get((_display_of(fields), company.id if company else None))
        if contact is None:
            created = _NewContact(group.addresses)
            _apply(created, fields, company)
            new_contacts.append(created)
            summary.created += 1
            if not group.addresses:
                by_name[(created.display_name, created.company_id)] = created
            continue
        before = None if isinstance(contact, _NewContact) else _history_values(contact, company_names)
        changed = _apply(contact, fields, company)
        if before is None:
            summary.merged += 1  # a second address-less row of one person in this batch
            continue
        if contact.deleted_at is not None:
            contact.restore()  # the file says the contact exists; its filed mail comes back with it
            changed = True
        known = {e.address for e in contact.emails}
        for address in group.addresses:
            if address not in known:
                contact.emails.append(ContactEmail(tenant_id=tenant_id, address=address, position=len(contact.emails)))
                changed = True
        if changed:
            summary.updated += 1
            after = _history_values(contact, company_names)
            record_changes(session, tenant_id, contact.id, before, after, changed_by)
        else:
            summary.skipped += 1
    for company_id, domains in domains_of.items():
        _add_domains(session.get(Company, company_id), domains)
    session.flush()
    _insert_contacts(session, tenant_id, new_contacts)
    session.commit()
    session.expunge_all()


def _insert_contacts(session: Session, tenant_id: str, new_contacts: list[_NewContact]) -> None:
    """Two bulk INSERTs: the contacts, then their addresses (which need the contacts' ids)."""
    if not new_contacts:
        return
    now = utcnow()
    rows = [{**c.values(tenant_id), "created_at": now, "updated_at": now} for c in new_contacts]
    if session.get_bind().dialect.name == "sqlite":
        # SQLite cannot return ids of a multi-row INSERT in order, and one INSERT per
        # row costs most of an import. This transaction holds SQLite's only write lock
        # (apply_batch wrote first), so ids past the current maximum are ours to give.
        start = session.scalar(select(func.max(Contact.id))) or 0
        ids = list(range(start + 1, start + 1 + len(rows)))
        session.execute(insert(Contact), [{**row, "id": id_} for row, id_ in zip(rows, ids)])
    else:
        ids = session.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True), rows).all()
    emails = [
        {"tenant_id": tenant_id, "contact_id": contact_id, "address": address, "position": position}
        for contact_id, contact in zip(ids, new_contacts)
        for position, address in enumerate(contact.addresses)
    ]
    if emails:
        session.execute(insert(ContactEmail), emails)


def _display_of(fields: dict) -> str:
    return fields["display_name"] or _derived_name(fields["first_name"], fields["last_name"])


def _add_domains(company: Company, domains: Iterable[str]) -> None:
    """Adds normalised domains to the company, skipping free-mail providers."""
    current = list(company.domains or [])
    for domain in domains:
        if not is_free_mail(domain) and domain not in current:
            current.append(domain)
    if current != list(company.domains or []):
        company.domains = current
