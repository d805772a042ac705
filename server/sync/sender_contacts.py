"""Create CRM contact (and company) from a person on a message, name prefilled,
so filing a new correspondent takes one click: "Create only", or "Create and link the email", which files the message
if it was not filed and links it to the new contact."""

from __future__ import annotations

from server.crm.addresses import normalise_address
from server.crm.contact_changes import ChangedBy
from server.crm.contacts import apply_fields, create_contact, find_by_addresses
from server.crm.field_limits import check_length
from server.crm.filing import link_email
from server.crm.models import Email
from server.sync.contact_targets import refuse_own
from server.sync.errors import InvalidAddress
from server.sync.file_message import sync_message
from server.sync.mailbox import Mailbox, prepare_mailbox
from server.sync.people import people_of
from server.sync.person_names import split_name


def create_crm_contact_from_message(
    mailbox: Mailbox,
    message_id: str,
    address: str,
    *,
    name: str | None = None,
    company: str | None = None,
    job_title: str | None = None,
    phone: str | None = None,
    link: bool = False,
) -> dict:
    """ "Create CRM contact" for a person on a message, name prefilled from the message
    when not given. An existing CRM contact with that address is returned instead of a
    duplicate (`created` false). With `link` ("Create and link the email"), the
    message is filed (if it was not) and linked to the contact (and its company, with
    auto-link companies). Raises InvalidAddress for a malformed address, OwnAddress for
    one of the user's own addresses (primary or alias), FieldTooLong for a value over
    the CRM's limit (also a name taken from the message: it is refused like a typed
    one, never cut), GraphError (NotFound for a message not in the user's mailbox)."""
    normalised = normalise_address(address)
    if normalised is None:
        raise InvalidAddress()
    prepare_mailbox(mailbox)  # the user's aliases are known before we compare with them
    refuse_own(mailbox, normalised)
    message = mailbox.graph.get_message(message_id)
    if name is None:
        person = next((p for p in people_of(message) if p.address == normalised), None)
        name = person.name if person else ""
    check_length("display_name", name, "name")
    session = mailbox.session
    changed_by = ChangedBy.user("outlook", mailbox.me)
    crm = find_by_addresses(session, mailbox.tenant_id, [normalised])
    created = crm is None
    try:
        if crm is None:
            first, last = split_name(name or "", normalised)
            values = {
                "first_name": first,
                "last_name": last,
                "display_name": " ".join(p for p in (first, last) if p),
                "emails": [normalised],
                "job_title": job_title or "",
                "business_phone": phone or "",
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
    answer = {
        "crm_contact_id": crm.id,
        "crm_url": mailbox.links.contact(crm.id),
        "created": created,
        "name": crm.name,
        "company": None
        if crm.company is None
        else {"id": crm.company.id, "name": crm.company.name, "url": mailbox.links.company(crm.company.id)},
        "crm_email_id": None,
        "message": None,
    }
    if link:
        view = sync_message(mailbox, message["id"])
        email = Email.get(session, mailbox.tenant_id, view["crm_email_id"]) if view["crm_email_id"] else None
        if email is not None:
            # A message filed before the contact existed gets its link now.
            links = [("contact", crm.id, "address")]
            if crm.company_id is not None and mailbox.settings().get("auto_link_companies"):
                links.append(("company", crm.company_id, "company"))
            link_email(session, mailbox.tenant_id, email, links, mailbox.me)
            answer["crm_email_id"] = email.id
        answer["message"] = view
    return answer
