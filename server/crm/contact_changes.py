"""Recording what changed a contact: each field's old and new value, the source
(Outlook contact sync and the add-in, the import, the REST API, a CRM page), the
user and the time, as `ContactChange` rows in the caller's transaction.

`crm.contacts.apply_fields` records through here whenever it is told who changes
the contact; the import, which writes contacts in bulk, records with
`record_changes` directly. The contact's page shows the rows, newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from server.crm.models import CHANGE_SOURCES, Contact, ContactChange, User

# The fields a history shows, in this order; "company" is the company's name and
# "emails" the addresses joined by ", ".
TRACKED_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "job_title",
    "company",
    "business_phone",
    "mobile_phone",
    "emails",
)
# The field of the rows recorded when a contact is created (new value: its name) or
# deleted (old value: its name, no new value).
CREATED = "contact"


@dataclass(frozen=True)
class ChangedBy:
    """Who changes a contact: a source of CHANGE_SOURCES, and the CRM user if any
    (else `actor` names who it was, e.g. "integration" for an app-only token)."""

    source: str
    user_id: int | None = None
    actor: str = ""

    def __post_init__(self):
        if self.source not in CHANGE_SOURCES:
            raise ValueError(f"unknown change source {self.source!r}")

    @classmethod
    def user(cls, source: str, user: User | None, fallback: str = "") -> ChangedBy:
        if user is None:
            return cls(source, None, fallback)
        return cls(source, user.id, user.display_name or user.upn or fallback)


# An import without a known user (the command line).
IMPORT = ChangedBy("import", None, "import")


def field_values(contact: Contact) -> dict[str, str]:
    """The tracked fields of a contact as text."""
    return {
        "first_name": contact.first_name or "",
        "last_name": contact.last_name or "",
        "display_name": contact.display_name or "",
        "job_title": contact.job_title or "",
        "company": contact.company.name if contact.company is not None else "",
        "business_phone": contact.business_phone or "",
        "mobile_phone": contact.mobile_phone or "",
        "emails": ", ".join(contact.addresses),
    }


def record_changes(
    session: Session,
    tenant_id: str,
    contact_id: int,
    before: Mapping[str, str],
    after: Mapping[str, str],
    changed_by: ChangedBy,
) -> list[ContactChange]:
    """Adds a row for each tracked field whose value differs; returns them."""
    rows = [
        ContactChange(
            tenant_id=tenant_id,
            contact_id=contact_id,
            field=name,
            old_value=before.get(name) or None,
            new_value=after.get(name) or None,
            source=changed_by.source,
            user_id=changed_by.user_id,
            actor=changed_by.actor[:320],
        )
        for name in TRACKED_FIELDS
        if name in after and (before.get(name) or "") != (after.get(name) or "")
    ]
    session.add_all(rows)
    return rows


def record_creation(session: Session, contact: Contact, changed_by: ChangedBy) -> ContactChange:
    """The row saying the contact was created (its fields are in the contact itself)."""
    row = ContactChange(
        tenant_id=contact.tenant_id,
        contact_id=contact.id,
        field=CREATED,
        old_value=None,
        new_value=contact.name or "(no name)",
        source=changed_by.source,
        user_id=changed_by.user_id,
        actor=changed_by.actor[:320],
    )
    session.add(row)
    return row


def record_deletion(session: Session, contact: Contact, changed_by: ChangedBy) -> ContactChange:
    """The row saying the contact was deleted (softly: its filed emails stay)."""
    row = ContactChange(
        tenant_id=contact.tenant_id,
        contact_id=contact.id,
        field=CREATED,
        old_value=contact.name or None,
        new_value=None,
        source=changed_by.source,
        user_id=changed_by.user_id,
        actor=changed_by.actor[:320],
    )
    session.add(row)
    return row
