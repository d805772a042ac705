"""What automatic sync files, and filing a set of changed messages.

Per message, in this order:
1. already filed (state `synced`) or marked synced (state `excluded`): never touched
   (counted as already filed, or as skipped because marked);
2. categorised "Don't sync to CRM": marked excluded (the category command), not filed
   (skipped because marked);
3. any person on the never-sync list (tenant's and personal; addresses and domains):
   not filed;
4. a sharing rule the mailbox's owner made names a person on a message that arrived
   after the rule (linked to its case, source "rule"), or the message belongs to a
   conversation the owner linked (source "conversation"): filed, whatever the setting
   (rules.py). A rule or link another user made never files this mailbox's mail;
5. the user's own command: categorised "Sync to CRM" (in every mode, "off", the
   default, included: it is an explicit command, not automatic sync), or marked
   unsynced from the pane (state `pending`, when automatic sync is on or in bulk
   sync): filed, even when nobody on it is a CRM contact, as a manual sync would;
6. otherwise only what the user's `auto_sync` setting asks for, and only with a CRM
   contact on the message (sender or recipients, the user's own addresses aside):
   - `off` and `marked`: nothing more;
   - `known_contacts`, and bulk sync (mode "all"): messages from or to a CRM contact.
   A message without one is skipped as "no CRM contact": internal mail and newsletters
   are not filed. The exception is the tenant setting "Create CRM contacts for unknown
   external senders" (unknown_senders.py): then an external sender gets a contact and
   the message is filed on it.

Filing then marks the message exactly like "Sync email" does (file_message's
`file_in_crm` + `mark_patch`): state synced, CrmEmailId, category "Synced to CRM".
Reads and PATCHes go through `$batch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from server.crm.addresses import matches_never_sync
from server.crm.filing import set_item_state
from server.crm.matching import match_addresses
from server.crm.models import MailboxItem
from server.graph import GraphClient
from server.graph import properties as props
from server.graph.errors import GraphError
from server.graph.messages import MESSAGE_FIELDS_WITH_BODY
from server.sync import unknown_senders
from server.sync.file_message import file_in_crm, mark_patch
from server.sync.mailbox import Mailbox
from server.sync.people import Person, people_of
from server.sync.rules import extra_links
from server.sync.view import message_state

FILE, EXCLUDE, SKIP = "file", "exclude", "skip"
MODES = ("off", "marked", "known_contacts", "all")
# Why a message was not filed; each is counted on its own in every summary.
ALREADY_FILED, MARKED, NEVER_SYNC, NO_CONTACT, NOT_ASKED = (
    "already_filed",
    "marked",
    "never_sync",
    "no_contact",
    "skipped",
)
COUNTS = ("filed", "already_filed", "marked", "no_contact", "never_sync", "skipped", "failed", "contacts_created")


@dataclass
class Outcome:
    """What a round did, each reason counted separately:
    filed; already filed; skipped because marked (synced earlier, or "Don't sync to
    CRM": `excluded` of them newly marked now); skipped because no CRM contact; skipped
    for the never-sync list; skipped otherwise (not asked for by the setting, deleted
    meanwhile); failed. `contacts_created`: contacts made for unknown senders."""

    filed: int = 0
    already_filed: int = 0
    marked: int = 0
    excluded: int = 0
    no_contact: int = 0
    never_sync: int = 0
    skipped: int = 0
    failed: int = 0
    contacts_created: int = 0
    errors: list[str] = field(default_factory=list)
    failed_ids: set[str] = field(default_factory=set)  # the messages that failed

    def add(self, other: Outcome) -> None:
        for name in (*COUNTS, "excluded"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors[:10])
        self.failed_ids |= other.failed_ids

    def fail(self, message_id: str, code: str) -> None:
        self.failed += 1
        self.failed_ids.add(message_id)
        self.errors.append(f"{message_id}: {code}")

    def count(self, reason: str) -> None:
        setattr(self, reason, getattr(self, reason) + 1)

    @property
    def handled(self) -> int:
        """Messages dealt with (filed or skipped for a reason), failures aside."""
        return self.filed + self.already_filed + self.marked + self.no_contact + self.never_sync + self.skipped

    def summary(self) -> dict[str, int]:
        """The counts as JSON (a bulk job's cursor, the CLI)."""
        return {name: getattr(self, name) for name in COUNTS}

    @classmethod
    def from_summary(cls, summary: dict | None) -> Outcome:
        summary = summary or {}
        return cls(**{name: int(summary.get(name) or 0) for name in COUNTS})


@dataclass
class Decision:
    verdict: str
    links: list = field(default_factory=list)
    reason: str = ""  # why not filed (SKIP), or MARKED for EXCLUDE
    new_sender: Person | None = None  # FILE: create this sender's CRM contact first


def _has_category(message: dict, name: str) -> bool:
    return any(c.casefold() == name.casefold() for c in message.get("categories") or ())


def _items(mailbox: Mailbox, messages: list[dict]) -> dict[str, MailboxItem]:
    ids = [m["id"] for m in messages]
    if not ids:
        return {}
    rows = mailbox.session.scalars(
        select(MailboxItem).where(
            MailboxItem.tenant_id == mailbox.tenant_id,
            MailboxItem.user_id == mailbox.me.id,
            MailboxItem.graph_id.in_(ids),
        )
    )
    return {row.graph_id: row for row in rows}


def decide(
    mailbox: Mailbox,
    message: dict,
    item: MailboxItem | None,
    mode: str,
    never_sync: list[str],
    matches: dict,
    unknown_domains: set[str] | None = None,
) -> Decision:
    """What to do with one message (module docstring). `unknown_domains`: the tenant's
    own domains when "Create CRM contacts for unknown external senders" is on, else None."""
    state = message_state(message, item)
    if "crm" in message and not (message["crm"] or {}).get("state") and item is not None:
        # The CRM has a state Outlook lacks: an earlier mark's PATCH failed after the
        # CRM's write. Complete the mark (filing again is an idempotent upsert), or the
        # message would stay unmarked in Outlook for good.
        if item.state == "synced":
            return Decision(FILE)
        if item.state == "excluded":
            return Decision(EXCLUDE, reason=MARKED)
    if state == "synced":
        return Decision(SKIP, reason=ALREADY_FILED)
    if state == "excluded":
        return Decision(SKIP, reason=MARKED)
    if _has_category(message, props.CATEGORY_DONT_SYNC):
        return Decision(EXCLUDE, reason=MARKED)
    people = people_of(message, mailbox.me.own_addresses())
    addresses = [p.address for p in people if p.address]
    if never_sync and any(matches_never_sync(a, never_sync) for a in addresses):
        return Decision(SKIP, reason=NEVER_SYNC)
    links = extra_links(mailbox, message, addresses)
    if links:
        return Decision(FILE, links)
    known = any(matches.get(a) for a in addresses)
    new_sender = None
    if not known and unknown_domains is not None:
        new_sender = unknown_senders.external_sender(people, unknown_domains)
    commanded = _has_category(message, props.CATEGORY_SYNC) or (state == "pending" and mode != "off")
    if commanded:
        return Decision(FILE, new_sender=new_sender)
    if mode not in ("known_contacts", "all"):
        return Decision(SKIP, reason=NOT_ASKED)
    if known:
        return Decision(FILE)
    if new_sender is not None:
        return Decision(FILE, new_sender=new_sender)
    return Decision(SKIP, reason=NO_CONTACT)


def _create_senders(mailbox: Mailbox, to_file: dict, matches: dict, outcome: Outcome) -> None:
    """The CRM contacts of the unknown senders of messages about to be filed (one per
    address), and their matches, so that filing links the message to them."""
    senders = {d.new_sender.address: d.new_sender for _, d in to_file.values() if d.new_sender is not None}
    if not senders:
        return
    try:
        for sender in senders.values():
            _, created = unknown_senders.contact_for(mailbox, sender)
            outcome.contacts_created += created
        mailbox.session.commit()
    except BaseException:
        mailbox.session.rollback()
        raise
    matches.update(match_addresses(mailbox.session, mailbox.tenant_id, list(senders)))


def process_messages(
    mailbox: Mailbox, messages: Iterable[dict], mode: str | None = None, have_bodies: bool = False
) -> Outcome:
    """Applies the rules to messages (Graph JSON with "crm" and categories): files and
    marks those that qualify, marks "Don't sync" ones excluded. Messages without their
    body are read again (in `$batch`) only when they are to be filed. Idempotent.
    Raises GraphError when a whole `$batch` call fails (the caller's job retries)."""
    return mark_planned(mailbox.graph, plan_messages(mailbox, messages, mode, have_bodies))


@dataclass
class Planned:
    """Messages filed in the CRM (or decided on), whose marks in Outlook are still to be
    written: `patches` by message id, `filed` the ids filed now."""

    outcome: Outcome
    filed: set[str] = field(default_factory=set)
    patches: dict[str, tuple] = field(default_factory=dict)


def plan_messages(
    mailbox: Mailbox, messages: Iterable[dict], mode: str | None = None, have_bodies: bool = False
) -> Planned:
    """`process_messages` up to the marks: decides, files in the CRM, and answers the
    marks to write (`mark_planned`, which needs only Graph, so a caller may write them
    while it files the next messages)."""
    messages = [m for m in messages if m and m.get("id")]
    outcome = Outcome()
    if not messages:
        return Planned(outcome)
    settings = mailbox.settings()
    mode = mode or settings.get("auto_sync") or "off"
    never_sync = list(settings.get("never_sync") or [])
    own = mailbox.me.own_addresses()
    matches = match_addresses(
        mailbox.session, mailbox.tenant_id, [p.address for m in messages for p in people_of(m, own)]
    )
    items = _items(mailbox, messages)
    unknown_domains = unknown_senders.tenant_domains(mailbox) if unknown_senders.enabled(mailbox) else None

    to_file: dict[str, tuple[dict, Decision]] = {}
    patches: dict[str, tuple] = {}
    for message in messages:
        decision = decide(mailbox, message, items.get(message["id"]), mode, never_sync, matches, unknown_domains)
        if decision.verdict == FILE:
            to_file[message["id"]] = (message, decision)
        elif decision.verdict == EXCLUDE:
            set_item_state(
                mailbox.session,
                mailbox.tenant_id,
                mailbox.me,
                message["id"],
                "excluded",
                folder=message.get("parentFolderId"),
            )
            patches[message["id"]] = (None, {props.SYNC_STATE: "excluded"})
        else:
            outcome.count(decision.reason or NOT_ASKED)

    if to_file and not have_bodies:
        fetched = mailbox.graph.get_messages(list(to_file), select=MESSAGE_FIELDS_WITH_BODY, expand_attachments=True)
        for message_id, full in fetched.items():
            message, decision = to_file[message_id]
            if isinstance(full, GraphError):
                del to_file[message_id]
                if full.status == 404:  # deleted meanwhile: nothing to file
                    outcome.skipped += 1
                else:
                    outcome.fail(message_id, full.code)
                continue
            to_file[message_id] = (full, decision)

    _create_senders(mailbox, to_file, matches, outcome)
    for message_id, (message, decision) in to_file.items():
        email, _ = file_in_crm(mailbox, message, matches, extra_links=decision.links)
        patches[message_id] = mark_patch(message, email)
    return Planned(outcome, set(to_file), patches)


def mark_planned(graph: GraphClient, planned: Planned) -> Outcome:
    """Writes the planned marks (`$batch` PATCHes) and answers the whole Outcome. Raises
    GraphError when a whole `$batch` call fails."""
    outcome, to_file, patches = planned.outcome, planned.filed, planned.patches
    if patches:
        results = graph.update_messages(patches)
        for message_id, error in results.items():
            if error is None:
                if message_id in to_file:
                    outcome.filed += 1
                else:  # "Don't sync to CRM": marked excluded now
                    outcome.marked += 1
                    outcome.excluded += 1
            elif error.status == 404:  # deleted meanwhile
                outcome.skipped += 1
            else:
                outcome.fail(message_id, error.code)
    return outcome
