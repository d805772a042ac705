"""The message as the pane sees it: state, CRM email, and each person's matches.

This is the API's message shape (a contract), which the pane and other clients rely on:
{"id", "internet_message_id", "subject", "state", "crm_email_id", "crm_url",
 "auto_sync", "filing_queued", "attachments": [{"id", "name", "content_type", "size",
 "inline", "state", "url"}] (the filed email's, empty before filing),
 "people": [{"address", "display_address", "name", "role", "contacts": [...], "outlook_contact_id"}],
 "colleague_links": [{"target_type", "target_id", "title", "url", "made_by"}]}

`auto_sync` is the user's effective automatic-sync mode ("off", "marked",
"known_contacts" or "all"), so the pane can say what will happen; `filing_queued` is
true when the message is not filed yet but the backend will file it without another
click: it carries the "Sync to CRM" category (the category command works in every
mode), or it waits as `pending` (marked unsynced) and automatic sync is on.
`colleague_links` are the records colleagues file this conversation on and the user
does not (link_suggestions.py): a colleague's link never files the user's mailbox, so
the pane offers the user a link of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from server.crm.addresses import address_domain, display_address, matches_never_sync, normalise_address
from server.crm.attachment_queries import attachment_json, attachment_values_of, attachments_and_links
from server.crm.filing import FiledEmail
from server.crm.matching import MatchedContact, match_addresses
from server.crm.models import Email, ItemState, MailboxItem
from server.graph import properties as props
from server.graph.batch import BATCH_LIMIT
from server.graph.errors import GraphError
from server.graph.messages import MESSAGE_FIELDS_WITH_BODY
from server.sync.contact_fields import OUTLOOK_CONTACT_FIELDS
from server.sync.link_suggestions import colleague_links, wants_links
from server.sync.mailbox import Mailbox
from server.sync.outlook_contact_sync import refresh_found_contacts
from server.sync.people import Person, people_of
from server.sync.unknown_senders import tenant_domains

# Outlook-contact lookups for the pane ride in one $batch (20 requests), so a message
# with more people than that reports the rest as unchecked rather than paying more calls.
OUTLOOK_LOOKUP_LIMIT = 20


def crm_item(mailbox: Mailbox, message: dict) -> ItemState | None:
    """The message's item in the user's mailbox, read with its email's id (one
    statement; values, not a session entity)."""
    return MailboxItem.state_of(mailbox.session, mailbox.tenant_id, mailbox.me.id, message["id"])


# What the view reads of an item: the pane's read (ItemState) or the entity filing wrote.
Item = ItemState | MailboxItem


def message_state(message: dict, item: Item | None) -> str:
    """Outlook's mark wins (it travels with the message and other clients set it);
    the CRM's record fills in when the mark could not be written yet."""
    state = (message.get("crm") or {}).get("state")
    if state in ("synced", "excluded", "pending"):
        return state
    if item is not None and item.state in ("synced", "excluded", "pending"):
        return item.state
    return "none"


def filing_queued(message: dict, state: str, settings: Mapping, people: list[Person]) -> bool:
    """Whether the backend files this message by itself, with no further click (the
    rules of automatic.py `decide`: a never-sync person keeps it out)."""
    if state in ("synced", "excluded"):
        return False
    never_sync = list(settings.get("never_sync") or [])
    if never_sync and any(p.address and matches_never_sync(p.address, never_sync) for p in people):
        return False
    auto_sync = settings.get("auto_sync") or "off"
    categories = {c.casefold() for c in message.get("categories") or ()}
    if props.CATEGORY_DONT_SYNC.casefold() in categories:
        return False
    if props.CATEGORY_SYNC.casefold() in categories:
        return True
    return state == "pending" and auto_sync != "off"


def filed_email_id(mailbox: Mailbox, message: dict, item: Item | None, filed: FiledEmail | None = None) -> int | None:
    """The id of this message's CRM email, only ever one of the caller's own tenant.
    `filed`: the email the caller has just filed for this message (no query then); an
    ItemState was read with its email's id checked against the tenant (none either)."""
    if filed is not None and item is not None and item.email_id == filed.id:
        return filed.id if filed.tenant_id == mailbox.tenant_id else None
    if isinstance(item, ItemState) and item.email_id is not None:
        return item.email_in_tenant
    if item is not None and item.email_id is not None:
        return Email.id_in_tenant(mailbox.session, mailbox.tenant_id, item.email_id)
    stored = (message.get("crm") or {}).get("email_id")
    if stored and str(stored).isdigit():
        return Email.id_in_tenant(mailbox.session, mailbox.tenant_id, int(stored))
    return None


def contact_json(mailbox: Mailbox, contact: MatchedContact) -> dict:
    company = contact.company
    return {
        "id": contact.id,
        "name": contact.name,
        "url": mailbox.links.contact(contact.id),
        "company": None
        if company is None
        else {"id": company.id, "name": company.name, "url": mailbox.links.company(company.id)},
    }


def outlook_contacts(
    mailbox: Mailbox, people: list[Person], found: Mapping[str, list[dict] | GraphError] | None = None
) -> dict[str, str | None]:
    """address -> Outlook contact id (None: no contact) for the first people, refreshing
    linked contacts on the way. `found` holds lookups already made (see open_message);
    the people it lacks are looked up in one $batch. Lookup failures leave the address
    out: the pane shows it as unknown."""
    addresses = [p.address for p in people if p.address][:OUTLOOK_LOOKUP_LIMIT]
    if not addresses:
        return {}
    found = {a: found[a] for a in addresses if a in (found or {})}
    missing = [a for a in addresses if a not in found]
    if missing:
        try:
            found.update(mailbox.graph.find_contacts_many(missing, select=OUTLOOK_CONTACT_FIELDS))
        except GraphError:
            pass  # the ones found with the message still count
    # Linked contacts follow each other both ways when the pane opens; the lookup above
    # already fetched them, so an unchanged pair costs no Graph call.
    try:
        refresh_found_contacts(mailbox, found)
    except GraphError:
        pass  # the pane still shows the message; the next open or sync retries
    result: dict[str, str | None] = {}
    for address, contacts in found.items():
        if isinstance(contacts, GraphError):
            continue
        result[address] = contacts[0]["id"] if contacts else None
    return result


def people_json(
    mailbox: Mailbox,
    people: list[Person],
    matches: Mapping[str, list[MatchedContact]],
    outlook: Mapping[str, str | None] | None = None,
) -> list[dict]:
    """The API's person shape (the message view's `people`, and the compose pane's
    matches), each with the CRM contacts that have the person's address, whether it is
    outside the tenant's domains (`external`, as unknown_senders.py means it) and on the
    user's never-sync list."""
    domains = tenant_domains(mailbox) if any(p.address for p in people) else set()
    never_sync = list(mailbox.settings().get("never_sync") or [])
    return [
        {
            "address": p.address or p.raw,
            "display_address": display_address(p.address) if p.address else p.raw,
            "name": p.name,
            "role": p.role,
            "valid": p.address is not None,
            "contacts": [contact_json(mailbox, c) for c in matches.get(p.address or "", [])],
            "outlook_contact_id": (outlook or {}).get(p.address) if p.address else None,
            "external": bool(p.address) and address_domain(p.address) not in domains,
            "never_sync": bool(p.address and never_sync) and matches_never_sync(p.address, never_sync),
        }
        for p in people
    ]


def match_people(mailbox: Mailbox, addresses: Iterable[str]) -> list[dict]:
    """The compose pane's recipients as the message view would show them: normalised
    and matched the same way (one query), each address once, without the user's own
    addresses. The pane knows each recipient's field, so every role reads "to"; Outlook
    contacts are not looked up (`outlook_contact_id` null)."""
    as_message = {"toRecipients": [{"emailAddress": {"address": a}} for a in addresses]}
    people = people_of(as_message, mailbox.me.own_addresses())
    matches = match_addresses(mailbox.session, mailbox.tenant_id, [p.address for p in people])
    return people_json(mailbox, people, matches)


def message_view(
    mailbox: Mailbox,
    message: dict,
    *,
    item: Item | None = None,
    matches: Mapping[str, list[MatchedContact]] | None = None,
    outlook: Mapping[str, str | None] | None = None,
    filed: FiledEmail | None = None,
    attachments: Sequence | None = None,
    people: list[Person] | None = None,
    conversation_links: list | None = None,
) -> dict:
    """Builds the API shape. `outlook` None means the Outlook contacts were not looked
    up for this answer (`outlook_contacts_checked` false); clients keep what they had.
    `filed`: the email just filed for this message, if the caller did; `attachments`:
    that email's attachment rows when the caller knows them (none read then). Otherwise
    a filed message's attachments are read with the conversation's links, in one
    statement. `people`: people_of(message) when the caller has it; `conversation_links`:
    the conversation's links (`read_conversation_links`) when the caller read them."""
    if people is None:
        people = people_of(message, mailbox.me.own_addresses())
    if matches is None:
        matches = match_addresses(mailbox.session, mailbox.tenant_id, [p.address for p in people])
    email_id = filed_email_id(mailbox, message, item, filed)
    state = message_state(message, item)
    settings = mailbox.settings()
    auto_sync = settings.get("auto_sync") or "off"
    # The organisation keeps the app out of this mailbox (sync/app_access.py): nothing is
    # filed by itself, while the pane's own commands (the user's token) still work.
    blocked = mailbox.me.app_access_refused_at is not None
    conversation_id = message.get("conversationId")
    links = conversation_links
    if attachments is None or filed is None or email_id != filed.id:
        attachments = None
        if email_id and wants_links(conversation_id, state):
            # An open of a filed message shows both: one statement.
            attachments, links = attachments_and_links(mailbox.session, mailbox.tenant_id, email_id, conversation_id)
        elif email_id:
            attachments = attachment_values_of(mailbox.session, mailbox.tenant_id, email_id)
    return {
        "id": message["id"],
        "internet_message_id": message.get("internetMessageId"),
        "conversation_id": message.get("conversationId"),
        "subject": message.get("subject") or "",
        "received_at": message.get("receivedDateTime"),
        "state": state,
        "auto_sync": auto_sync,
        "filing_queued": not blocked and filing_queued(message, state, settings, people),
        "automatic_sync_blocked": blocked,
        "crm_email_id": email_id,
        "crm_url": mailbox.links.email(email_id) if email_id else None,
        "attachments": [attachment_json(row, mailbox.links.attachment) for row in attachments or ()],
        "categories": message.get("categories") or [],
        "outlook_contacts_checked": outlook is not None,
        "people": people_json(mailbox, people, matches, outlook),
        "colleague_links": colleague_links(mailbox, conversation_id, state, links),
    }


def expected_addresses(mailbox: Mailbox, addresses: Iterable[str]) -> list[str]:
    """The client's list of the message's people (what Office.js shows), normalised,
    without the user's own addresses, as many as share a $batch with the message."""
    own = mailbox.me.own_addresses()
    wanted = dict.fromkeys(a for a in map(normalise_address, addresses) if a and a not in own)
    return list(wanted)[: BATCH_LIMIT - 1]


def open_message(mailbox: Mailbox, message_id: str, expected: Iterable[str] = ()) -> dict:
    """What the pane shows when a message opens.

    The pane knows the message's people before the server does (Office.js shows them),
    so it sends them and the message rides in one $batch with their Outlook-contact
    lookups: one Graph request per open (bench/b1_pane_api.py measures it). Without that list (or for people
    it missed, e.g. Bcc on sent mail) it is one GET plus one $batch for the lookups.
    Lookups are only ever reported for the message's real people, whatever was sent.

    The read holds all that filing needs (the body, the attachments' metadata) and is
    kept briefly for this user (recent_reads.py), so Sync pressed moments later files
    it without reading the message again: open then sync cost one read and one write.
    """
    hinted = expected_addresses(mailbox, expected)
    if hinted:
        message, found = mailbox.graph.get_message_and_contacts(
            message_id,
            hinted,
            select=MESSAGE_FIELDS_WITH_BODY,
            contact_select=OUTLOOK_CONTACT_FIELDS,
            expand_attachments=True,
        )
    else:
        message, found = (
            mailbox.graph.get_message(message_id, select=MESSAGE_FIELDS_WITH_BODY, expand_attachments=True),
            {},
        )
    mailbox.keep_read(message_id, message)
    people = people_of(message, mailbox.me.own_addresses())
    return message_view(
        mailbox, message, item=crm_item(mailbox, message), outlook=outlook_contacts(mailbox, people, found)
    )
