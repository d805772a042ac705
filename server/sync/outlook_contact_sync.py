"""Outlook contacts and CRM contacts: create in Outlook, sync, link, keep in step.

- `create_outlook_contact`: a sender becomes an Outlook contact (one per address, also
  when two requests race: a reservation row in our database decides who creates it).
- `sync_outlook_contact`: Outlook -> CRM by the CRM id stored on the Outlook contact
  (`CrmContactId`), else by address, else a new CRM contact; the id is written back.
- `link_outlook_contact`: pair an Outlook contact with a chosen CRM contact; at the
  link the CRM's values win, Outlook only fills empty CRM fields.
- `refresh_linked_contacts`: the two-way sync of linked contacts, for the pane's
  open and automatic sync; costs no Graph call when the caller already holds the
  Outlook contacts and nothing changed.

Every sync of a pair merges field by field (`contact_fields.merge`), writes the CRM
first (commit; each changed field is recorded in the contact's history as source
"outlook" with the user), then PATCHes Outlook once, then stores the agreed snapshot. If the
PATCH fails, the snapshot stays as it was, so the next sync sees the CRM side as
changed and pushes it again: nothing is lost or reverted.

An Outlook value longer than the CRM's limit for its field (server/crm/field_limits.py)
is refused, not cut: the sync raises FieldTooLong (the pane reads which field to
shorten in Outlook) and changes neither side. Cutting it would store a value nobody
wrote, and the next merge would then push the cut value back over the whole one in
Outlook, losing it on both sides.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy.orm import Session

from server.crm.addresses import normalise_address
from server.crm.contact_changes import ChangedBy
from server.crm.contacts import apply_fields, create_contact, find_by_addresses
from server.crm.field_limits import FieldTooLong
from server.crm.models import Contact
from server.crm.models import OutlookContactReservation as Reservation
from server.crm.outlook_links import claim_outlook_contact, outlook_link, outlook_links, save_outlook_link
from server.crm.types import utcnow
from server.graph import properties as props
from server.graph.errors import GraphError, NotFound
from server.sync.contact_fields import (
    OUTLOOK_CONTACT_FIELDS,
    ContactFields,
    crm_fields,
    make_snapshot,
    merge,
    new_outlook_contact,
    outlook_fields,
    outlook_modified,
    outlook_patch,
    split_name,
)
from server.sync.contact_targets import contact_person, refuse_own
from server.sync.errors import ContactBeingCreated, CrmContactNotFound, InvalidAddress
from server.sync.mailbox import Mailbox, prepare_mailbox


@dataclass
class ContactSync:
    """The outcome of syncing one Outlook contact with its CRM contact."""

    outlook_contact_id: str
    crm_contact: Contact
    created: bool  # the CRM contact was created by this sync
    outlook_changes: list[str]
    crm_changes: list[str]
    conflicts: list[str]

    def as_json(self, mailbox: Mailbox) -> dict:
        return {
            "outlook_contact_id": self.outlook_contact_id,
            "crm_contact_id": self.crm_contact.id,
            "crm_url": mailbox.links.contact(self.crm_contact.id),
            "created": self.created,
            "name": self.crm_contact.name,
            "updated_in_outlook": self.outlook_changes,
            "updated_in_crm": self.crm_changes,
            "conflicts": self.conflicts,
        }


# -- create in Outlook -----------------------------------------------------------------

# A request waits this long for another request creating the same contact, then
# answers busy (the pane retries): about one Graph call with its retries.
RESERVATION_WAIT_S = 10.0
# A reservation still without a contact after this long lost its creator (gunicorn
# kills a request after 60 s); another request may then take it over.
RESERVATION_STALE_S = 120.0
RESERVATION_POLL_S = 0.1
_RESERVED = object()

# Who settles a field both sides hold different values of, in `_sync_pair`.
OUTLOOK, CRM, LATER = "outlook", "crm", "later"


def create_outlook_contact(
    mailbox: Mailbox,
    address: str,
    name: str = "",
    *,
    message_id: str | None = None,
    wait_s: float = RESERVATION_WAIT_S,
) -> dict:
    """Creates an Outlook contact from an address and display name ("Last, First",
    "First Last", quoted), unless one with that address exists: then that one is
    returned with `created` false.

    Never for the user's own addresses (primary and aliases): with `message_id` (the
    ribbon's "from sender" on a message the user sent) the contact is for the
    message's first external recipient instead (`contact_targets.contact_person`);
    without it, an own address raises OwnAddress.

    Graph has no unique key, so simultaneous calls for one user and address (pane
    and ribbon, two windows, a retry after a timeout) are serialised by an
    `OutlookContactReservation` row: the request that reserves the address creates
    the contact, the others wait up to `wait_s` for its id and return that contact.
    Raises InvalidAddress for a malformed address, OwnAddress, NoExternalRecipient,
    ContactBeingCreated when the other request did not finish in time, GraphError."""
    prepare_mailbox(mailbox)  # the user's aliases are known before we compare with them
    if message_id:
        address, name = contact_person(mailbox, message_id, address, name)
    refuse_own(mailbox, address)
    raw = (address or "").strip()
    normalised = normalise_address(raw)
    if normalised is None:
        raise InvalidAddress()
    if raw.endswith(">") and "<" in raw:
        raw = raw[raw.rindex("<") + 1 : -1].strip()
    # Outlook compares addresses case-insensitively but keeps IDN domains as typed.
    forms = list(dict.fromkeys([normalised, raw]))
    holder = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    while True:
        contact = _find_in_outlook(mailbox, forms)
        if contact is not None:
            return _created_json(contact, created=False)
        outcome = _reserve_or_wait(mailbox, normalised, holder, deadline)
        if outcome is _RESERVED:
            return _create_reserved(mailbox, forms, raw, name, normalised, holder)
        if outcome is not None:
            return _created_json(outcome, created=False)
        # The reservation was dropped (its creation failed, or its contact is gone): look again.
        if time.monotonic() >= deadline:
            raise ContactBeingCreated()


def _find_in_outlook(mailbox: Mailbox, forms: list[str]) -> dict | None:
    found = mailbox.graph.find_contacts_many(forms, select=OUTLOOK_CONTACT_FIELDS)
    for form in forms:
        contacts = found.get(form)
        if isinstance(contacts, GraphError):
            raise contacts
        if contacts:
            return contacts[0]
    return None


@contextmanager
def _own_transaction(mailbox: Mailbox) -> Iterator[Session]:
    """A short transaction of its own, so other requests see the reservation at once
    and the request's session is left as it was."""
    with Session(mailbox.session.get_bind(), expire_on_commit=False) as session, session.begin():
        yield session


def _reserve_or_wait(mailbox: Mailbox, address: str, holder: str, deadline: float) -> object:
    """_RESERVED when this request now holds the address's reservation; else the
    contact another request created for it; None when that reservation was dropped.
    Raises ContactBeingCreated past the deadline, GraphError."""
    key = (mailbox.tenant_id, mailbox.me.id, address)
    with _own_transaction(mailbox) as session:
        if Reservation.reserve(session, *key, holder):
            return _RESERVED
    while True:
        with _own_transaction(mailbox) as session:
            row = Reservation.find(session, *key)
        if row is None:
            return None
        if row.outlook_contact_id:
            contact = _stored_contact(mailbox, row.outlook_contact_id, address)
            if contact is not None:
                return contact
            with _own_transaction(mailbox) as session:
                Reservation.forget(session, *key, row.outlook_contact_id)
            return None
        stale_before = utcnow() - timedelta(seconds=RESERVATION_STALE_S)
        if row.reserved_at < stale_before:
            with _own_transaction(mailbox) as session:
                if Reservation.take_over(session, *key, holder, stale_before):
                    return _RESERVED
            continue
        if time.monotonic() >= deadline:
            raise ContactBeingCreated()
        time.sleep(RESERVATION_POLL_S)


def _stored_contact(mailbox: Mailbox, outlook_contact_id: str, address: str) -> dict | None:
    """The contact a reservation names, or None when the user deleted it in Outlook
    or took the address off it."""
    try:
        contact = get_outlook_contact(mailbox, outlook_contact_id)
    except NotFound:
        return None
    if address not in {normalise_address(a) for a in outlook_fields(contact).emails}:
        return None
    return contact


def _create_reserved(mailbox: Mailbox, forms: list[str], raw: str, name: str, address: str, holder: str) -> dict:
    """Creates the contact under this request's reservation and stores its id. Looks
    in Outlook once more first: a creator that failed after Graph created the contact
    (a timeout), or died, leaves a contact that an earlier lookup missed."""
    key = (mailbox.tenant_id, mailbox.me.id, address)
    try:
        contact = _find_in_outlook(mailbox, forms)
        created = contact is None
        if created:
            contact = mailbox.graph.create_contact(new_outlook_contact(raw, name))
    except BaseException:
        with _own_transaction(mailbox) as session:
            Reservation.release(session, *key, holder)
        raise
    with _own_transaction(mailbox) as session:
        Reservation.fill(session, *key, holder, contact["id"])
    return _created_json(contact, created=created)


def _created_json(contact: Mapping, created: bool) -> dict:
    emails = outlook_fields(contact).emails
    stored = (contact.get("crm") or {}).get("contact_id")
    return {
        "id": contact["id"],
        "created": created,
        "display_name": contact.get("displayName") or "",
        "address": emails[0] if emails else None,
        "crm_contact_id": int(stored) if stored and str(stored).isdigit() else None,
    }


# -- sync and link ---------------------------------------------------------------------


def sync_outlook_contact(mailbox: Mailbox, outlook_contact_id: str) -> ContactSync:
    """Syncs an Outlook contact with the CRM and returns the outcome.

    The CRM contact is the one already linked, else the one whose id the Outlook
    contact stores, else the first with any of its addresses, else a new one. A
    first sync copies Outlook's values (a CRM value fills a field Outlook leaves
    empty); later ones merge both ways. Raises GraphError (ContactNotFound for an unknown
    Outlook contact)."""
    contact = get_outlook_contact(mailbox, outlook_contact_id)
    session = mailbox.session
    link = outlook_link(session, mailbox.me, contact["id"])
    crm = _live(mailbox, link.contact_id) if link is not None else None
    if crm is not None:
        return _sync_pair(mailbox, contact, crm, link.snapshot, winner=LATER)
    if link is not None:  # its CRM contact was deleted: pair afresh
        session.delete(link)
        session.commit()
    stored = (contact.get("crm") or {}).get("contact_id")
    crm = _live(mailbox, int(stored)) if stored and str(stored).isdigit() else None
    if crm is None:
        crm = find_by_addresses(mailbox.session, mailbox.tenant_id, outlook_fields(contact).emails)
    if crm is not None:
        return _sync_pair(mailbox, contact, crm, None, winner=OUTLOOK)
    crm = create_contact(
        mailbox.session, mailbox.tenant_id, _new_crm_values(outlook_fields(contact)), changed_by=_by(mailbox)
    )
    claimed = claim_outlook_contact(mailbox.session, mailbox.me, contact["id"], crm)
    if claimed.contact_id != crm.id:  # a concurrent sync created it first: use theirs
        return _sync_pair(mailbox, contact, claimed.contact, claimed.snapshot, winner=OUTLOOK)
    return _sync_pair(mailbox, contact, crm, None, winner=OUTLOOK, created=True)


def link_outlook_contact(mailbox: Mailbox, outlook_contact_id: str, crm_contact_id: int) -> ContactSync:
    """Pairs an Outlook contact with a chosen CRM contact of the tenant and syncs them.

    The CRM contact is the record the user chose, shared by everyone: linking never
    overwrites it. Where both sides hold a value, the CRM's goes to Outlook; Outlook
    only fills the fields the CRM leaves empty, and adds its addresses. Relinking to
    the same contact keeps the pair's history, and later syncs merge field by field.
    Raises CrmContactNotFound for a CRM contact not in the tenant, GraphError."""
    crm = _live(mailbox, crm_contact_id)
    if crm is None:
        raise CrmContactNotFound()
    contact = get_outlook_contact(mailbox, outlook_contact_id)
    link = outlook_link(mailbox.session, mailbox.me, contact["id"])
    if link is not None and link.contact_id == crm.id:
        return _sync_pair(mailbox, contact, crm, link.snapshot, winner=LATER)
    return _sync_pair(mailbox, contact, crm, None, winner=CRM)


def refresh_linked_contacts(
    mailbox: Mailbox, outlook_contact_ids: Iterable[str], fetched: Mapping[str, Mapping] | None = None
) -> dict[str, ContactSync | GraphError | FieldTooLong]:
    """Two-way sync of those of these Outlook contacts that are linked to CRM contacts.

    One database query finds the links; unlinked ids cost nothing. `fetched` may hold
    Outlook contacts the caller already read (id -> Graph contact read with
    `OUTLOOK_CONTACT_FIELDS` and the CrmContactId expand, e.g. from
    `find_contacts_many(..., select=OUTLOOK_CONTACT_FIELDS)`): those are not read
    again, so an unchanged pair costs no Graph call at all; a pair with CRM-side
    changes costs one PATCH. Returns id -> outcome, or the GraphError (or FieldTooLong:
    an Outlook value over the CRM's limit) of that id (a failure of one contact does not
    stop the others)."""
    fetched = dict(fetched or {})
    links = outlook_links(mailbox.session, mailbox.me, outlook_contact_ids)
    results: dict[str, ContactSync | GraphError | FieldTooLong] = {}
    for outlook_id, link in links.items():
        crm = link.contact
        if crm is None or crm.is_deleted:
            continue
        try:
            contact = fetched.get(outlook_id)
            if not _complete(contact):
                contact = get_outlook_contact(mailbox, outlook_id)
            results[outlook_id] = _sync_pair(mailbox, contact, crm, link.snapshot, winner=LATER)
        except (GraphError, FieldTooLong) as error:
            mailbox.session.rollback()
            results[outlook_id] = error
    return results


def refresh_found_contacts(
    mailbox: Mailbox, found: Mapping[str, list[dict] | GraphError]
) -> dict[str, ContactSync | GraphError | FieldTooLong]:
    """`refresh_linked_contacts` over the answer of
    `graph.find_contacts_many(addresses, select=OUTLOOK_CONTACT_FIELDS)`, e.g. the
    lookup the message view already makes when the pane opens a message."""
    fetched = {c["id"]: c for contacts in found.values() if not isinstance(contacts, GraphError) for c in contacts}
    return refresh_linked_contacts(mailbox, list(fetched), fetched=fetched)


def get_outlook_contact(mailbox: Mailbox, outlook_contact_id: str) -> dict:
    return mailbox.graph.get_contact(outlook_contact_id, select=OUTLOOK_CONTACT_FIELDS)


def _complete(contact: Mapping | None) -> bool:
    """Read with every field the merge needs (a partial read would look like emptied fields)."""
    return (
        bool(contact)
        and all(f in contact for f in ("id", "lastModifiedDateTime", "emailAddresses", "businessPhones"))
        and "crm" in contact
    )


def _by(mailbox: Mailbox) -> ChangedBy:
    return ChangedBy.user("outlook", mailbox.me)


def _live(mailbox: Mailbox, contact_id: int) -> Contact | None:
    return Contact.get(mailbox.session, mailbox.tenant_id, contact_id)


def _new_crm_values(fields: ContactFields) -> dict:
    values = fields.as_dict()
    if not values["first_name"] and not values["last_name"] and values["display_name"]:
        values["first_name"], values["last_name"] = split_name(values["display_name"])
    return values


def _outlook_is_newer(contact: Mapping, crm: Contact) -> bool:
    """Outlook keeps whole seconds; a tie goes to Outlook, where the user is working."""
    modified = outlook_modified(contact)
    if modified is None:
        return False
    crm_time = crm.updated_at
    if crm_time is None:
        return True
    if crm_time.tzinfo is None:
        crm_time = crm_time.replace(tzinfo=UTC)
    return modified >= crm_time.replace(microsecond=0)


def _sync_pair(
    mailbox: Mailbox,
    contact: Mapping,
    crm: Contact,
    snapshot: Mapping | None,
    *,
    winner: str,
    created: bool = False,
) -> ContactSync:
    """Merges the pair (`winner` settles fields both sides changed: OUTLOOK, CRM, or
    LATER for the later modification), writes the CRM (recorded in its history),
    then Outlook, then the snapshot."""
    session = mailbox.session
    outlook_newer = winner == OUTLOOK or (winner == LATER and _outlook_is_newer(contact, crm))
    result = merge(outlook_fields(contact), crm_fields(crm), snapshot, outlook_newer=outlook_newer)
    merged = result.merged.as_dict()
    if result.crm_changes:
        try:
            apply_fields(session, crm, {name: merged[name] for name in result.crm_changes}, _by(mailbox))
            session.commit()
        except BaseException:
            session.rollback()
            raise
    patch = outlook_patch(contact, result.merged)
    properties = {}
    if (contact.get("crm") or {}).get("contact_id") != str(crm.id):
        properties[props.CONTACT_ID] = str(crm.id)
    if patch or properties:
        updated = mailbox.graph.update_contact(contact["id"], patch, properties=properties or None)
        contact = {**contact, **{k: v for k, v in updated.items() if k != "crm"}, "crm": {"contact_id": str(crm.id)}}
    try:
        save_outlook_link(
            session, mailbox.me, contact["id"], crm, make_snapshot(result.merged, contact, crm.updated_at)
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ContactSync(contact["id"], crm, created, result.outlook_changes, result.crm_changes, result.conflicts)
