"""Sync this email: file a Graph message in the CRM, then mark it in Outlook.

Order matters for "nothing lost, nothing duplicated": the CRM write (Email,
MailboxItem, links: one transaction, keyed by internetMessageId) commits first, then
the attachments' content is streamed in (sync/attachments.py: never failing the
filing), then ONE PATCH marks the message. If the PATCH fails, the CRM already holds the email and
a retry repeats both steps harmlessly, completing the mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from server.crm.filing import FiledEmail, file_email_values
from server.crm.matching import MatchedContact, match_addresses
from server.crm.models import ItemState, MailboxItem
from server.graph import properties as props
from server.graph.errors import GraphError, PreconditionFailed
from server.graph.messages import MESSAGE_FIELDS_WITH_BODY
from server.sync.attachments import attachment_items, fetch_missing, store_attachments
from server.sync.compose import compose_links
from server.sync.errors import api_error_for
from server.sync.link_suggestions import read_conversation_links
from server.sync.mailbox import Mailbox
from server.sync.people import Person, people_of, recipients, same_people
from server.sync.view import crm_item, message_view

SYNCED_CATEGORIES = dict(add=[props.CATEGORY_SYNCED], remove=[props.CATEGORY_SYNC, props.CATEGORY_DONT_SYNC])


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def email_fields(message: dict) -> dict:
    """The CRM Email's fields from a Graph message (crm.filing sanitises the body)."""
    sender = (message.get("from") or {}).get("emailAddress") or {}
    body = message.get("body") or {}
    html = body.get("contentType", "").lower() == "html"
    return {
        "internet_message_id": message.get("internetMessageId") or "",
        "conversation_id": message.get("conversationId"),
        "subject": message.get("subject") or "",
        "from_address": sender.get("address") or "",
        "from_name": sender.get("name") or "",
        "to": recipients(message, "toRecipients"),
        "cc": recipients(message, "ccRecipients"),
        "bcc": recipients(message, "bccRecipients"),
        "sent_at": _when(message.get("sentDateTime")),
        "received_at": _when(message.get("receivedDateTime")),
        "preview": message.get("bodyPreview") or "",
        "body_html" if html else "body_text": body.get("content") or "",
        "has_attachments": bool(message.get("hasAttachments")),
        "attachments": [
            {"name": a.get("name", ""), "content_type": a.get("contentType", ""), "size": a.get("size")}
            for a in message.get("attachments") or ()
            if not a.get("isInline")
        ],
    }


def links_for(
    people: Iterable[Person], matches: Mapping[str, list[MatchedContact]], link_companies: bool, tenant_id: str
) -> list[tuple[str, int, str]]:
    """Every contact with a matching address (two contacts may share one), and with
    auto-link companies on, those contacts' companies: those match_addresses read from
    `tenant_id` (a company only when it is the tenant's own), which filing then need
    not look up again."""
    links: list[tuple[str, int, str]] = []
    for person in people:
        for contact in matches.get(person.address or "", []):
            if contact.tenant_id != tenant_id:
                continue
            links.append(("contact", contact.id, "address"))
            if link_companies and contact.company is not None:
                links.append(("company", contact.company.id, "company"))
    return links


def marked_synced(message: dict) -> bool:
    """Outlook shows the message as synced (our extended property)."""
    return (message.get("crm") or {}).get("state") == "synced"


def filed_item(mailbox: Mailbox, message: dict) -> ItemState | None:
    """The CRM's record of the message when it may be filed already, else None: only a
    message Outlook shows as synced can be (`is_filed` needs both), so for the others
    the record is not read before filing writes it (one statement less per sync)."""
    return crm_item(mailbox, message) if marked_synced(message) else None


def is_filed(message: dict, item: ItemState | MailboxItem | None) -> bool:
    """Already filed and marked: a repeat sync must add nothing."""
    return marked_synced(message) and item is not None and item.state == "synced" and item.email_id is not None


def mark_patch(message: dict, email: FiledEmail) -> tuple[list[str], dict]:
    """(categories, properties) of the one PATCH that marks a filed message."""
    return (
        props.merge_categories(message.get("categories"), **SYNCED_CATEGORIES),
        {props.SYNC_STATE: "synced", props.EMAIL_ID: str(email.id)},
    )


def file_in_crm(
    mailbox: Mailbox,
    message: dict,
    matches: Mapping[str, list[MatchedContact]] | None = None,
    extra_links: Iterable[tuple[str, int, str]] = (),
) -> tuple[FiledEmail, ItemState]:
    """The CRM half of a sync (commits): the email and the user's item as values. `matches` may come precomputed for a batch.
    The case and task chosen while composing the message (compose.py) are linked too."""
    email, item, _ = _file(mailbox, message, matches, extra_links)
    return email, item


def _file(
    mailbox: Mailbox,
    message: dict,
    matches: Mapping[str, list[MatchedContact]] | None,
    extra_links: Iterable[tuple[str, int, str]] = (),
    people: list[Person] | None = None,
) -> tuple[FiledEmail, ItemState, bool]:
    """file_in_crm, also saying whether the email was created by this call. `people`:
    people_of(message) when the caller has it."""
    if people is None:
        people = people_of(message, mailbox.me.own_addresses())
    if matches is None:
        matches = match_addresses(mailbox.session, mailbox.tenant_id, [p.address for p in people])
    matched = links_for(people, matches, bool(mailbox.settings().get("auto_link_companies")), mailbox.tenant_id)
    email, item, created = file_email_values(
        mailbox.session,
        mailbox.tenant_id,
        mailbox.me,
        email_fields(message),
        message["id"],
        message.get("parentFolderId"),
        [*compose_links(mailbox, message), *extra_links],
        known=matched,
    )
    # Every way of filing comes through here: the attachments' content follows the
    # email (one $value stream each; what a fault leaves behind is fetched later).
    store_attachments(mailbox, email.id, message)
    return email, item, created


def fetch_for_filing(mailbox: Mailbox, message_id: str) -> dict:
    return mailbox.graph.get_message(message_id, select=MESSAGE_FIELDS_WITH_BODY, expand_attachments=True)


# The mark's conditional PATCH, then at most this many re-reads and PATCHes again when
# the message keeps changing under it (each 412 means someone else's change landed first).
MARK_ATTEMPTS = 3


def mark_filed(mailbox: Mailbox, message: dict, email: FiledEmail) -> dict:
    """The one PATCH that marks a filed message, conditional on the read its categories
    were merged from (`If-Match`: the read's `@odata.etag`), so a category the user set
    in Outlook since that read is never overwritten: on 412 the message is read again
    (without its body: only the categories and the etag matter now) and the mark
    re-applied to what is there, unless that read shows it marked already (a parallel
    sync of the same message won the race), MARK_ATTEMPTS times at most (then
    PreconditionFailed, the email staying filed). Returns the message as marked."""
    attempt = 1
    while True:
        categories, properties = mark_patch(message, email)
        try:
            mailbox.graph.update_message(
                message["id"], categories=categories, properties=properties, if_match=message.get("@odata.etag")
            )
            return {**message, "categories": categories, "crm": {"state": "synced", "email_id": str(email.id)}}
        except PreconditionFailed:
            if attempt >= MARK_ATTEMPTS:
                raise
        attempt += 1
        message = {**message, **mailbox.graph.get_message(message["id"])}
        if is_marked(message, email):
            return message


def is_marked(message: dict, email: FiledEmail) -> bool:
    """The message carries the mark of this email already: the PATCH would change nothing."""
    crm = message.get("crm") or {}
    return (
        crm.get("state") == "synced"
        and crm.get("email_id") == str(email.id)
        and mark_patch(message, email)[0] == list(message.get("categories") or ())
    )


def sync_message(mailbox: Mailbox, message_id: str) -> dict:
    """Files the message and marks it synced; returns the message view. The read is the
    one the pane's open made moments before when this user's mailbox still holds it
    (recent_reads.py), else one GET now; the mark is conditional on it (`mark_filed`),
    so open then sync cost one read and one write. Idempotent: an already-filed message
    costs at most one GET and changes nothing (but for fetching an attachment a fault
    left pending). Raises GraphError."""
    message = mailbox.take_read(message_id) or fetch_for_filing(mailbox, message_id)
    item: ItemState | None = filed_item(mailbox, message)
    matches = None
    email = None
    attachments = None
    people = None
    conversation_links = None
    if not is_filed(message, item):
        # One match (and one list of people) for filing and for the answer
        # (bench/b1_pane_api.py showed them computed twice).
        people = people_of(message, mailbox.me.own_addresses())
        matches = match_addresses(mailbox.session, mailbox.tenant_id, [p.address for p in people])
        # The answer's colleague suggestions, read now in the transaction the match began:
        # read after filing's commit, they cost a second connection checkout and
        # transaction. Filing writes no conversation link, so they read the same.
        conversation_links = read_conversation_links(mailbox, message.get("conversationId"))
        email, item, created = _file(mailbox, message, matches, people=people)
        # An email created just now from a message that lists no attachments has no
        # attachment rows: the answer need not read them back.
        if created and not attachment_items(message):
            attachments = []
        read = message
        message = mark_filed(mailbox, message, email)
        if not same_people(read, message):  # read again on the way (a 412)
            people = None
    else:
        # Filed before, but a fault left an attachment behind: Sync again fetches it now.
        fetch_missing(mailbox, item.email_id, message)
    return message_view(
        mailbox,
        message,
        item=item,
        matches=matches,
        filed=email,
        attachments=attachments,
        people=people,
        conversation_links=conversation_links,
    )


def sync_messages(mailbox: Mailbox, message_ids: list[str]) -> list[dict]:
    """Several messages: reads and marks go through $batch (20 per call), matching is
    one query for all of them. Returns one result per requested id, in order:
    {"id", "ok", "status": "synced"|"already_synced"|"failed", "message"?, "error"?}."""
    fetched = mailbox.graph.get_messages(message_ids, select=MESSAGE_FIELDS_WITH_BODY, expand_attachments=True)
    own = mailbox.me.own_addresses()
    everyone = [p.address for m in fetched.values() if isinstance(m, dict) for p in people_of(m, own)]
    matches = match_addresses(mailbox.session, mailbox.tenant_id, everyone)

    results: dict[str, dict] = {}
    pending: dict[str, tuple] = {}  # graph id -> (categories, properties)
    views: dict[str, tuple[str, dict, ItemState]] = {}
    for requested, message in fetched.items():
        if isinstance(message, GraphError):
            results[requested] = failure(requested, message)
            continue
        item = filed_item(mailbox, message)
        if is_filed(message, item):
            fetch_missing(mailbox, item.email_id, message)
            results[requested] = {
                "id": requested,
                "ok": True,
                "status": "already_synced",
                "message": message_view(mailbox, message, item=item, matches=matches),
            }
            continue
        email, item = file_in_crm(mailbox, message, matches)
        categories, properties = mark_patch(message, email)
        pending[message["id"]] = (categories, properties)
        views[message["id"]] = (
            requested,
            {**message, "categories": categories, "crm": {"state": "synced", "email_id": str(email.id)}},
            item,
        )
    outcomes = mailbox.graph.update_messages(pending) if pending else {}
    for graph_id, error in outcomes.items():
        requested, message, item = views[graph_id]
        if error is not None:
            results[requested] = failure(requested, error)
        else:
            results[requested] = {
                "id": requested,
                "ok": True,
                "status": "synced",
                "message": message_view(mailbox, message, item=item, matches=matches),
            }
    return [results[i] for i in dict.fromkeys(message_ids)]


def failure(requested: str, error: GraphError) -> dict:
    api = api_error_for(error)
    body = {"code": api.code, "message": api.message}
    if api.retry_after is not None:
        body["retry_after"] = api.retry_after
    return {"id": requested, "ok": False, "status": "failed", "error": body}
