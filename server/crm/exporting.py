"""Exporting a tenant's contacts as CSV or vCard 3.0, in the shapes the importer
reads back: export, then import into an empty tenant, gives the same contacts
and companies. Deleted contacts are not exported."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

import vobject
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from server.crm.addresses import display_address, display_domain
from server.crm.import_rows import COLUMNS, LIST_SEPARATOR, defuse_formula
from server.crm.import_vcard import COMPANY_DOMAINS
from server.crm.models import Company, Contact

FORMATS = ("csv", "vcf")
CHUNK = 1000


def live_contacts(session: Session, tenant_id: str) -> Iterator[Contact]:
    """The tenant's live contacts by id, loaded a chunk at a time (flat memory)."""
    last_id = 0
    while True:
        chunk = session.scalars(
            select(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None), Contact.id > last_id)
            .options(selectinload(Contact.emails), selectinload(Contact.company))
            .order_by(Contact.id)
            .limit(CHUNK)
        ).all()
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1].id
        session.expunge_all()


def companies_without_contacts(session: Session, tenant_id: str) -> Iterator[Company]:
    """Companies no live contact belongs to: exported as company-only records."""
    used = select(Contact.company_id).where(
        Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None), Contact.company_id.is_not(None)
    )
    yield from session.scalars(
        select(Company).where(Company.tenant_id == tenant_id, Company.id.not_in(used)).order_by(Company.id)
    )


def export_contacts(session: Session, tenant_id: str, out: TextIO, fmt: str = "csv") -> int:
    """Writes the tenant's contacts to `out` (a text stream; for CSV opened with
    newline=""). Returns how many contacts were written. Raises ValueError for an
    unknown format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    write = _csv_writer(out) if fmt == "csv" else _vcard_writer(out)
    count = 0
    for contact in live_contacts(session, tenant_id):
        write(_contact_record(contact))
        count += 1
    for company in companies_without_contacts(session, tenant_id):
        write({"company": company.name, "company_domains": readable_domains(company.domains)})
    return count


def _contact_record(contact: Contact) -> dict[str, str]:
    company = contact.company
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "display_name": contact.display_name,
        "email": LIST_SEPARATOR.join(readable_address(a) for a in contact.addresses),
        "company": company.name if company else "",
        "job_title": contact.job_title,
        "phone": contact.business_phone,
        "mobile_phone": contact.mobile_phone,
        "company_domains": readable_domains(company.domains) if company else "",
    }


def readable_address(address: str) -> str:
    """'jan@xn--bcher-kva.de' -> 'jan@bücher.de': people read the file; import re-encodes it."""
    return display_address(address)


def readable_domains(domains: list[str] | None) -> str:
    return LIST_SEPARATOR.join(display_domain(f"x@{d}") for d in domains or [])


def _csv_writer(out: TextIO):
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\r\n", restval="")
    writer.writeheader()
    # Names and titles may come from strangers' emails: none may run as a spreadsheet formula.
    return lambda record: writer.writerow({key: defuse_formula(value) for key, value in record.items()})


def _vcard_writer(out: TextIO):
    def write(record: dict[str, str]) -> None:
        card = vobject.vCard()
        person = record.get("first_name") or record.get("last_name") or record.get("display_name")
        if person:
            card.add("n").value = vobject.vcard.Name(
                family=record.get("last_name", ""), given=record.get("first_name", "")
            )
            card.add("fn").value = record.get("display_name") or " ".join(
                p for p in (record.get("first_name"), record.get("last_name")) if p
            )
        else:
            # vCard requires FN; a card without a person is the company's own card.
            card.add("n").value = vobject.vcard.Name()
            card.add("fn").value = (record.get("email") or "").split(LIST_SEPARATOR)[0] or record.get("company", "")
        for address in filter(None, (record.get("email") or "").split(LIST_SEPARATOR)):
            entry = card.add("email")
            entry.value = address
            entry.type_param = "INTERNET"
        if record.get("company"):
            card.add("org").value = [record["company"]]
        if record.get("job_title"):
            card.add("title").value = record["job_title"]
        if record.get("phone"):
            tel = card.add("tel")
            tel.value = record["phone"]
            tel.type_param = "WORK"
        if record.get("mobile_phone"):
            tel = card.add("tel")
            tel.value = record["mobile_phone"]
            tel.type_param = "CELL"
        if record.get("company_domains"):
            card.add(COMPANY_DOMAINS).value = record["company_domains"]
        out.write(card.serialize())

    return write
