"""What automatic sync files, and filing a set of changed messages.

Per message, in this order:
1. marked synced (state `excluded`) or already filed (`synced`): never touched;
2. categorised "Don't sync to CRM": marked excluded (the category command), not filed;
3. any person on the never-sync list (tenant's and personal; addresses and domains):
   not filed;
4. filed, when the user's `auto_sync` setting asks for it:
   - `off`: nothing, apart from 5;
   - `marked`: marked unsynced (state `pending`) or categorised "Sync to CRM";
   - `known_contacts`: as `marked`, plus everything from or to a known CRM contact;
5. and always when a sharing rule of this mailbox names a person on a message that
   arrived after the rule (linked to its case, source "rule"), or the message belongs
   to a linked conversation (source "conversation").
Bulk sync (mode "all") files everything that 1-3 let through.

Filing then marks the message exactly like "Sync email" does (file_message's
`file_in_crm` + `mark_patch`): state synced, CrmEmailId, category "Synced to CRM".
Reads and PATCHes go through `$batch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select

from server.crm.addresses import matches_never_sync
from server.crm.filing import set_item_state
from server.crm.matching import match_addresses
from server.crm.models import MailboxItem
from server.graph import properties as props
from server.graph.errors import GraphError
from server.graph.messages import MESSAGE_FIELDS_WITH_BODY
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.sync.file_message import file_in_crm, mark_patch
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import job_mailbox
from server.sync.people import people_of
from server.sync.rules import extra_links
from server.sync.view import message_state

FILE, EXCLUDE, SKIP = "file", "exclude", "skip"
MODES = ("off", "marked", "known_contacts", "all")


@dataclass
class Outcome:
    filed: int = 0
    excluded: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.filed += other.filed
        self.excluded += other.excluded
        self.skipped += other.skipped
        self.failed += other.failed
        self.errors.extend(other.errors[:10])


def _has_category(message: dict, name: str) -> bool:
    return any(c.casefold() == name.casefold() for c in message.get("categories") or ())


def _items(mailbox: Mailbox, messages: list[dict]) -> dict[str, MailboxItem]:
    ids = [m["id"] for m in messages]
    if not ids:
        return {}
    rows = mailbox.session.scalars(
        select(MailboxItem).where(
            MailboxItem.tenant_id == mailbox.tenant_id,
            MailboxItem.user_id == mailbox.user.id,
            MailboxItem.graph_id.in_(ids),
        )
    )
    return {row.graph_id: row for row in rows}


def decide(
    mailbox: Mailbox, message: dict, item: MailboxItem | None, mode: str, never_sync: list[str], matches: dict
) -> tuple[str, list[tuple[str, int, str]]]:
    """(FILE | EXCLUDE | SKIP, extra links) for one message (module docstring)."""
    state = message_state(message, item)
    if "crm" in message and not (message["crm"] or {}).get("state") and item is not None:
        # The CRM has a state Outlook lacks: an earlier mark's PATCH failed after the
        # CRM's write. Complete the mark (filing again is an idempotent upsert), or the
        # message would stay unmarked in Outlook for good.
        if item.state == "synced":
            return FILE, []
        if item.state == "excluded":
            return EXCLUDE, []
    if state in ("excluded", "synced"):
        return SKIP, []
    if _has_category(message, props.CATEGORY_DONT_SYNC):
        return EXCLUDE, []
    addresses = [p.address for p in people_of(message, mailbox.user.own_addresses()) if p.address]
    if never_sync and any(matches_never_sync(a, never_sync) for a in addresses):
        return SKIP, []
    links = extra_links(mailbox, message, addresses)
    if links or mode == "all":
        return FILE, links
    if mode in ("marked", "known_contacts") and (state == "pending" or _has_category(message, props.CATEGORY_SYNC)):
        return FILE, links
    if mode == "known_contacts" and any(matches.get(a) for a in addresses):
        return FILE, links
    return SKIP, []


def process_messages(
    mailbox: Mailbox, messages: Iterable[dict], mode: str | None = None, have_bodies: bool = False
) -> Outcome:
    """Applies the rules to messages (Graph JSON with "crm" and categories): files and
    marks those that qualify, marks "Don't sync" ones excluded. Messages without their
    body are read again (in `$batch`) only when they are to be filed. Idempotent.
    Raises GraphError when a whole `$batch` call fails (the caller's job retries)."""
    messages = [m for m in messages if m and m.get("id")]
    outcome = Outcome()
    if not messages:
        return outcome
    settings = mailbox.settings()
    mode = mode or settings.get("auto_sync") or "off"
    never_sync = list(settings.get("never_sync") or [])
    own = mailbox.user.own_addresses()
    matches = match_addresses(
        mailbox.session, mailbox.tenant_id, [p.address for m in messages for p in people_of(m, own)]
    )
    items = _items(mailbox, messages)

    to_file: dict[str, tuple[dict, list]] = {}
    patches: dict[str, tuple] = {}
    for message in messages:
        verdict, links = decide(mailbox, message, items.get(message["id"]), mode, never_sync, matches)
        if verdict == FILE:
            to_file[message["id"]] = (message, links)
        elif verdict == EXCLUDE:
            set_item_state(
                mailbox.session,
                mailbox.tenant_id,
                mailbox.user,
                message["id"],
                "excluded",
                folder=message.get("parentFolderId"),
            )
            patches[message["id"]] = (None, {props.SYNC_STATE: "excluded"})
            outcome.excluded += 1
        else:
            outcome.skipped += 1

    if to_file and not have_bodies:
        fetched = mailbox.graph.get_messages(list(to_file), select=MESSAGE_FIELDS_WITH_BODY, expand_attachments=True)
        for message_id, full in fetched.items():
            message, links = to_file[message_id]
            if isinstance(full, GraphError):
                del to_file[message_id]
                if full.status == 404:  # deleted meanwhile: nothing to file
                    outcome.skipped += 1
                else:
                    outcome.failed += 1
                    outcome.errors.append(f"{message_id}: {full.code}")
                continue
            to_file[message_id] = (full, links)

    for message_id, (message, links) in to_file.items():
        email, _ = file_in_crm(mailbox, message, matches, extra_links=links)
        patches[message_id] = mark_patch(message, email)

    if patches:
        results = mailbox.graph.update_messages(patches)
        for message_id, error in results.items():
            if error is None:
                if message_id in to_file:
                    outcome.filed += 1
            elif error.status == 404:  # deleted meanwhile
                outcome.skipped += 1
            else:
                outcome.failed += 1
                outcome.errors.append(f"{message_id}: {error.code}")
    return outcome


def process_changed_message(mailbox: Mailbox, message_id: str) -> Outcome:
    """A change notification's work: one GET (with body), then the rules."""
    try:
        message = mailbox.graph.get_message(message_id, select=MESSAGE_FIELDS_WITH_BODY, expand_attachments=True)
    except GraphError as error:
        if error.status == 404:  # deleted or moved away since: nothing to do
            return Outcome(skipped=1)
        raise
    return process_messages(mailbox, [message], have_bodies=True)


@job("message")
def message_job(ctx: JobContext) -> None:
    """Files (or not) one message a change notification named."""
    mailbox = job_mailbox(ctx)
    if mailbox is None:
        return
    outcome = process_changed_message(mailbox, ctx.params["message_id"])
    ctx.progress(done=outcome.filed + outcome.excluded + outcome.skipped, total=1, failed=outcome.failed)
    if outcome.failed:
        raise RuntimeError("; ".join(outcome.errors) or "the message could not be marked")


def enqueue_message(app: Flask, tenant_id: str, user_id: int, message_id: str) -> int:
    """Queues the `message` job of one changed message (one job per message and user)."""
    return enqueue(
        "message",
        {"message_id": message_id},
        key=f"message:{user_id}:{message_id}",
        tenant_id=tenant_id,
        user_id=user_id,
        app=app,
    )
