"""The fields an Outlook contact and a CRM contact share, and how a two-way sync
settles them field by field.

Both sides are read into one plain shape (`ContactFields`): names, job title,
company name, business and mobile phone, and the normalised email addresses. The
link between the two keeps a snapshot of the values both sides agreed on at the
last sync; comparing each side with it tells who changed what since:

- changed on one side only: that side's value wins (an emptied field included);
- changed on both sides to different values: an emptied field never beats a value
  the other side set, otherwise the later modification wins (Outlook's
  `lastModifiedDateTime` against the CRM's `updated_at`);
- email addresses merge as a set: each side's additions and removals are applied.

Without a snapshot (first sync or first link) every field counts as changed on
both sides: a value beats an empty field, and `outlook_newer` settles the rest (a
first sync passes True: Outlook's values; a first link False: the CRM's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.crm.addresses import normalise_address
from server.crm.models import Contact, company_name_key
from server.graph import CONTACT_FIELDS
from server.sync.person_names import split_name

# What we read of an Outlook contact: our fields plus when it last changed.
OUTLOOK_CONTACT_FIELDS = CONTACT_FIELDS + ("lastModifiedDateTime",)
# Outlook keeps at most three email addresses on a contact.
OUTLOOK_MAX_EMAILS = 3

SCALAR_FIELDS = ("first_name", "last_name", "display_name", "job_title", "company", "business_phone", "mobile_phone")
FIELDS = SCALAR_FIELDS + ("emails",)
SNAPSHOT_VERSION = 1


@dataclass
class ContactFields:
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    job_title: str = ""
    company: str = ""
    business_phone: str = ""
    mobile_phone: str = ""
    emails: list[str] = field(default_factory=list)  # normalised, in order, no repeats

    def as_dict(self) -> dict[str, Any]:
        return {name: (list(getattr(self, name)) if name == "emails" else getattr(self, name)) for name in FIELDS}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ContactFields:
        return cls(
            **{
                name: (_addresses(values.get(name) or []) if name == "emails" else _text(values.get(name)))
                for name in FIELDS
            }
        )


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _addresses(raws) -> list[str]:
    return list(dict.fromkeys(a for a in map(normalise_address, raws) if a))


def same(name: str, a: Any, b: Any) -> bool:
    """Equal as far as sync is concerned: company names ignore case and spacing."""
    if name == "company":
        return company_name_key(a or "") == company_name_key(b or "")
    return a == b


# -- reading both sides ----------------------------------------------------------------


def outlook_fields(contact: Mapping[str, Any]) -> ContactFields:
    """The shared fields of a Graph contact."""
    phones = [p for p in contact.get("businessPhones") or () if p and p.strip()]
    return ContactFields(
        first_name=_text(contact.get("givenName")),
        last_name=_text(contact.get("surname")),
        display_name=_text(contact.get("displayName")),
        job_title=_text(contact.get("jobTitle")),
        company=_text(contact.get("companyName")),
        business_phone=_text(phones[0]) if phones else "",
        mobile_phone=_text(contact.get("mobilePhone")),
        emails=_addresses(e.get("address") for e in contact.get("emailAddresses") or () if isinstance(e, dict)),
    )


def crm_fields(contact: Contact) -> ContactFields:
    return ContactFields(
        first_name=_text(contact.first_name),
        last_name=_text(contact.last_name),
        display_name=_text(contact.display_name),
        job_title=_text(contact.job_title),
        company=_text(contact.company.name) if contact.company is not None else "",
        business_phone=_text(contact.business_phone),
        mobile_phone=_text(contact.mobile_phone),
        emails=list(contact.addresses),
    )


def outlook_modified(contact: Mapping[str, Any]) -> datetime | None:
    value = contact.get("lastModifiedDateTime")
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


# -- writing Outlook -------------------------------------------------------------------


def outlook_patch(contact: Mapping[str, Any], wanted: ContactFields) -> dict[str, Any]:
    """The Graph fields to PATCH so the Outlook contact shows `wanted` (only those that
    differ). Other business phones and the names shown on addresses Outlook already
    has are kept."""
    have = outlook_fields(contact)
    patch: dict[str, Any] = {}
    for name, graph_name in (
        ("first_name", "givenName"),
        ("last_name", "surname"),
        ("display_name", "displayName"),
        ("job_title", "jobTitle"),
        ("company", "companyName"),
        ("mobile_phone", "mobilePhone"),
    ):
        value = getattr(wanted, name)
        if not same(name, getattr(have, name), value):
            patch[graph_name] = value
    if have.business_phone != wanted.business_phone:
        others = [p for p in contact.get("businessPhones") or () if p and p.strip()][1:]
        patch["businessPhones"] = ([wanted.business_phone] if wanted.business_phone else []) + others
    shown = wanted.emails[:OUTLOOK_MAX_EMAILS]
    if set(have.emails) != set(shown):
        names = {
            normalise_address(e.get("address")): e for e in contact.get("emailAddresses") or () if isinstance(e, dict)
        }
        label = wanted.display_name or " ".join(p for p in (wanted.first_name, wanted.last_name) if p)
        patch["emailAddresses"] = [
            {
                "address": (names.get(a) or {}).get("address") or a,
                "name": (names.get(a) or {}).get("name") or label or a,
            }
            for a in shown
        ]
    return patch


def new_outlook_contact(address: str, name: str) -> dict[str, Any]:
    """Graph contact JSON for "Create contact in Outlook" from a sender's name and address."""
    first, last = split_name(name, address)
    display = " ".join(p for p in (first, last) if p) or address
    contact: dict[str, Any] = {"displayName": display, "emailAddresses": [{"address": address, "name": display}]}
    if first:
        contact["givenName"] = first
    if last:
        contact["surname"] = last
    return contact


# -- merging ---------------------------------------------------------------------------


@dataclass
class Merge:
    merged: ContactFields
    outlook_changes: list[str]  # fields whose Outlook value must change
    crm_changes: list[str]  # fields whose CRM value must change
    conflicts: list[str]  # fields both sides changed to different values


def merge(
    outlook: ContactFields, crm: ContactFields, snapshot: Mapping[str, Any] | None, *, outlook_newer: bool
) -> Merge:
    """Settle every field (see the module docstring). `snapshot` is the link's
    snapshot (`make_snapshot`), None when there is no agreed state yet;
    `outlook_newer` says which side changed last."""
    base = (snapshot or {}).get("fields") if snapshot else None
    base_fields = ContactFields.from_dict(base) if base is not None else None
    merged = ContactFields()
    conflicts: list[str] = []
    for name in SCALAR_FIELDS:
        o, c = getattr(outlook, name), getattr(crm, name)
        if same(name, o, c):
            value = c if name == "company" and c else o
        else:
            b = getattr(base_fields, name) if base_fields is not None else None
            o_changed = b is None or not same(name, o, b)
            c_changed = b is None or not same(name, c, b)
            if o_changed and not c_changed:
                value = o
            elif c_changed and not o_changed:
                value = c
            else:
                if b is not None:
                    conflicts.append(name)
                if not o:
                    value = c
                elif not c:
                    value = o
                else:
                    value = o if outlook_newer else c
        setattr(merged, name, value)
    merged.emails = _merge_emails(outlook.emails, crm.emails, snapshot, outlook_newer)
    return Merge(
        merged=merged,
        outlook_changes=[n for n in FIELDS if not _outlook_shows(n, outlook, merged)],
        crm_changes=[n for n in FIELDS if not _crm_shows(n, crm, merged)],
        conflicts=conflicts,
    )


def _crm_shows(name: str, crm: ContactFields, merged: ContactFields) -> bool:
    if name == "emails":
        return set(crm.emails) == set(merged.emails)
    return same(name, getattr(crm, name), getattr(merged, name))


def _outlook_shows(name: str, outlook: ContactFields, merged: ContactFields) -> bool:
    if name == "emails":
        return set(outlook.emails) == set(merged.emails[:OUTLOOK_MAX_EMAILS])
    return same(name, getattr(outlook, name), getattr(merged, name))


def _merge_emails(
    outlook: list[str], crm: list[str], snapshot: Mapping[str, Any] | None, outlook_newer: bool
) -> list[str]:
    """Three-way merge of address sets. Outlook's view is compared with what Outlook
    showed after the last sync (it holds at most three), the CRM's with the CRM's.
    Surviving addresses keep the agreed order; new ones follow, the later side's first."""
    first, second = (outlook, crm) if outlook_newer else (crm, outlook)
    if not snapshot or snapshot.get("fields") is None:
        return list(dict.fromkeys([*first, *second]))
    agreed = _addresses((snapshot.get("fields") or {}).get("emails") or [])
    base_outlook = set(_addresses(snapshot.get("outlook_emails") or []))
    removed = (base_outlook - set(outlook)) | (set(agreed) - set(crm))
    added = (set(outlook) - base_outlook) | (set(crm) - set(agreed))
    present = set(outlook) | set(crm)
    ordered = [a for a in agreed if a in present] + [*first, *second]
    return [a for a in dict.fromkeys(ordered) if a not in removed or a in added]


def make_snapshot(
    merged: ContactFields, outlook_contact: Mapping[str, Any], crm_updated_at: datetime | None
) -> dict[str, Any]:
    """What the link remembers after a sync: the agreed values, what Outlook shows
    of the addresses, and both sides' modification times (for diagnostics)."""
    return {
        "version": SNAPSHOT_VERSION,
        "fields": merged.as_dict(),
        "outlook_emails": outlook_fields(outlook_contact).emails,
        "outlook_modified": outlook_contact.get("lastModifiedDateTime"),
        "crm_updated": crm_updated_at.isoformat() if crm_updated_at else None,
    }
