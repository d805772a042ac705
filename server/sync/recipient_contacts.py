"""The compose pane's recipients: who they are in the CRM, whether one is someone to
offer "Create CRM contact" for, and that contact made from an address and a name alone.

A message being written is not in Sent Items yet, so the message view's "Create CRM
contact" (sender_contacts.py, which reads the filed message) cannot serve it. Here the
pane gives what Outlook shows of the recipient: the address and the display name.

Whom the pane offers it to is the person shape's `external` and `never_sync`
(view.py `people_json`): outside the domains of the tenant's users' addresses (so
colleagues are not offered as customers), and not on the user's never-sync list (the
user said that person's mail stays out of the CRM). The backend itself creates a
contact for any address but the user's own, as the message view's command does.
"""

from __future__ import annotations

from sqlalchemy import update

from server.crm.addresses import normalise_address
from server.crm.contact_changes import ChangedBy
from server.crm.contacts import apply_fields, create_contact, find_by_addresses
from server.crm.field_limits import check_length
from server.crm.models import Tenant
from server.sync.contact_targets import refuse_own
from server.sync.errors import InvalidAddress
from server.sync.mailbox import Mailbox, prepare_mailbox
from server.sync.person_names import split_name
from server.sync.view import match_people


def create_crm_contact_for_address(
    mailbox: Mailbox, address: str, *, name: str = "", company: str | None = None
) -> dict:
    """A CRM contact for a recipient of a message being written, named from the display
    name Outlook shows. An existing contact with the address is answered instead of a
    duplicate (`created` false): a double click, or two windows, make one contact (the
    tenant's row is written first, which serialises the look-up and the insert). Raises InvalidAddress, OwnAddress (one of the user's addresses),
    FieldTooLong."""
    normalised = normalise_address(address)
    if normalised is None:
        raise InvalidAddress()
    prepare_mailbox(mailbox)  # the user's aliases are known before we compare with them
    refuse_own(mailbox, normalised)
    name = (name or "").strip()
    if name.lower() == normalised:
        name = ""  # Outlook shows a bare address as its own display name
    check_length("display_name", name, "name")
    session = mailbox.session
    session.commit()  # the look-up below starts its own transaction with the lock
    try:
        # A write to the tenant's row first: PostgreSQL locks the row and SQLite the database,
        # so a second request for the address waits here and then finds the first one's contact.
        session.execute(
            update(Tenant)
            .where(Tenant.id == mailbox.tenant_id)
            .values(name=Tenant.name)
            .execution_options(synchronize_session=False)
        )
        crm = find_by_addresses(session, mailbox.tenant_id, [normalised])
        created = crm is None
        changed_by = ChangedBy.user("outlook", mailbox.me)
        if crm is None:
            first, last = split_name(name, normalised)
            values = {
                "first_name": first,
                "last_name": last,
                "display_name": " ".join(p for p in (first, last) if p),
                "emails": [normalised],
            }
            if company:
                values["company"] = company
            crm = create_contact(session, mailbox.tenant_id, values, changed_by=changed_by)
        elif company and crm.company is None:
            apply_fields(session, crm, {"company": company}, changed_by)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {
        "crm_contact_id": crm.id,
        "crm_url": mailbox.links.contact(crm.id),
        "created": created,
        "name": crm.name,
        "company": None
        if crm.company is None
        else {"id": crm.company.id, "name": crm.company.name, "url": mailbox.links.company(crm.company.id)},
        "person": match_people(mailbox, [normalised])[0],
    }
