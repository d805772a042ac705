"""Whom "Create contact from sender" is for: never the user.

On a message the user sent, the sender is the user (primary address or an alias).
The command then works on the first external recipient (To, then Cc, then Bcc):
the person the user wrote to, named in the answer so the user sees who it was. Only
the first, so one click makes one contact, as it does on received mail; the pane
lists every person on the message to add the others. "External" means an address
outside the domains of the user's own addresses, so colleagues are not offered.
When there is nobody external, the answer says in plain words what to do instead.
"""

from __future__ import annotations

from server.crm.addresses import address_domain, normalise_address
from server.domain_errors import Invalid
from server.sync.mailbox import Mailbox
from server.sync.people import people_of

# What we read of a message to find its recipients.
RECIPIENT_FIELDS = ("id", "from", "sender", "toRecipients", "ccRecipients", "bccRecipients")


class OwnAddress(Invalid):
    """A contact for the user's own address (primary or alias) was asked for."""

    code = "own_address"

    def __init__(self):
        super().__init__(
            "That is your own address, so no contact is made for it. On a message you sent, "
            "choose the person you wrote to in the add-in's pane and create the contact there."
        )


class NoExternalRecipient(Invalid):
    """A message the user sent has no recipient outside the user's own domains."""

    code = "no_external_recipient"

    def __init__(self):
        super().__init__(
            "You sent this message and it went to nobody outside your organisation, so there is no "
            "one to create a contact for. Open the add-in's pane to create a contact for a colleague, "
            "or use this command on a message you received."
        )


def is_own(mailbox: Mailbox, address: str) -> bool:
    normalised = normalise_address(address or "")
    return normalised is not None and normalised in mailbox.me.own_addresses()


def refuse_own(mailbox: Mailbox, address: str) -> None:
    """Raises OwnAddress for one of the user's own addresses."""
    if is_own(mailbox, address):
        raise OwnAddress()


def contact_person(mailbox: Mailbox, message_id: str, address: str, name: str) -> tuple[str, str]:
    """(address, name) of the person a "from sender" command on this message is for:
    the given sender unless it is the user, else the first external recipient.
    Raises NoExternalRecipient, GraphError (NotFound for a message not in the mailbox)."""
    if address and not is_own(mailbox, address):
        return address, name
    message = mailbox.graph.get_message(message_id, select=RECIPIENT_FIELDS)
    own = mailbox.me.own_addresses()
    own_domains = {address_domain(a) for a in own}
    for person in people_of(message, own):
        if person.role != "from" and person.address and address_domain(person.address) not in own_domains:
            return person.raw or person.address, person.name
    raise NoExternalRecipient()
