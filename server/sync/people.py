"""The people on a Graph message (From/To/Cc, Bcc on sent mail), normalised once."""

from __future__ import annotations

from dataclasses import dataclass

from server.crm.addresses import normalise_address

ROLES = (("from", "from"), ("to", "toRecipients"), ("cc", "ccRecipients"), ("bcc", "bccRecipients"))


@dataclass(frozen=True)
class Person:
    address: str | None  # normalised; None when the address is malformed
    raw: str
    name: str
    role: str


def _entries(message: dict, field: str) -> list[dict]:
    value = message.get(field)
    if value is None:
        return []
    if isinstance(value, dict):  # "from" is a single recipient
        value = [value]
    return [entry.get("emailAddress") or {} for entry in value if isinstance(entry, dict)]


def people_of(message: dict, own_addresses: set[str] = frozenset()) -> list[Person]:
    """Everyone on the message in From, To, Cc, Bcc order, each address once (its
    first role wins), without the mailbox owner's own addresses."""
    seen: set[str] = set()
    people: list[Person] = []
    for role, field in ROLES:
        for entry in _entries(message, field):
            raw = (entry.get("address") or "").strip()
            address = normalise_address(raw)
            key = address or raw.lower()
            if not key or key in seen or (address and address in own_addresses):
                continue
            seen.add(key)
            people.append(Person(address, raw, (entry.get("name") or "").strip(), role))
    return people


def same_people(message: dict, other: dict) -> bool:
    """Whether two forms of a message (as read, and as marked) carry the very same
    people fields, so people_of gives the same for both."""
    return all(message.get(field) is other.get(field) for _, field in ROLES)


def recipients(message: dict, field: str) -> list[dict]:
    """A recipient list as the CRM stores it: [{"address", "name"}]."""
    return [{"address": e.get("address") or "", "name": e.get("name") or ""} for e in _entries(message, field)]
