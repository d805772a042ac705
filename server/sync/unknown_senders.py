"""The tenant setting "Create CRM contacts for unknown external senders"
(`create_unknown_senders`, off by default): automatic and bulk sync file a message
only when someone on it is a CRM contact (or the mailbox owner's own sharing rule or
linked conversation asks for it); with this setting on, an external sender the CRM does not know gets a
CRM contact, and the message is filed on it.

Never for the tenant's own people: an address of one of the tenant's domains (the
domains of its users' addresses) is internal mail, not a new customer. Never for an
address or domain on the never-sync list (automatic.py skips those messages first).
"""

from __future__ import annotations

from server.crm.contacts import create_contact, find_by_addresses
from server.crm.models import Contact
from server.crm.tenants import tenant_domains as crm_tenant_domains
from server.sync.contact_fields import split_name
from server.sync.mailbox import Mailbox
from server.sync.people import Person

SETTING = "create_unknown_senders"


def enabled(mailbox: Mailbox) -> bool:
    """The tenant's setting (a tenant-wide choice: users do not override it)."""
    return bool(mailbox.me.tenant.effective_settings().get(SETTING))


def tenant_domains(mailbox: Mailbox) -> set[str]:
    """The domains of the tenant's users' addresses (primary, aliases, UPN), as the
    tenant's row records them (crm/tenants.py: kept as users' addresses grow, so a new
    colleague's domain is internal from their first request on), with this user's own."""
    domains = crm_tenant_domains(mailbox.session, mailbox.me.tenant)
    for address in mailbox.me.own_addresses():
        domains.add(address.rpartition("@")[2])
    return domains


def external_sender(people: list[Person], domains: set[str]) -> Person | None:
    """The message's sender when it is someone outside the tenant (`people` is without
    the user's own addresses, so a sent message has none)."""
    sender = next((p for p in people if p.role == "from" and p.address), None)
    if sender is None or sender.address.rpartition("@")[2] in domains:
        return None
    return sender


def contact_for(mailbox: Mailbox, sender: Person) -> tuple[Contact, bool]:
    """(the sender's CRM contact, whether it was created now): an existing one with the
    address, else a new one named as the message names the sender. Flushed in the
    caller's transaction."""
    existing = find_by_addresses(mailbox.session, mailbox.tenant_id, [sender.address])
    if existing is not None:
        return existing, False
    first, last = split_name(sender.name, sender.address)
    values = {
        "first_name": first,
        "last_name": last,
        "display_name": " ".join(p for p in (first, last) if p),
        "emails": [sender.address],
    }
    return create_contact(mailbox.session, mailbox.tenant_id, values), True
