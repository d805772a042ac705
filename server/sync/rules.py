"""Sharing rules and linked conversations: the case links automatic sync adds.

A sharing rule (mailbox + case + address) files every NEW message of that mailbox
from or to the address, incoming and outgoing, on the case (source "rule"). Mail
that arrived before the rule was created is left alone. A linked conversation
(ConversationLink) files each new message of the conversation on its target (source
"conversation"). Both apply whatever the user's auto_sync setting, since the user
asked for them explicitly; marks and the never-sync list still win (automatic.py).

The rule that holds all of this: a mailbox is read and filed only by its OWNER's
commands and settings. A rule or link applies to the mailbox of the user who made it,
and to no other. Every source of standing instructions below queries by the mailbox's
owner, each answer names its maker (`Standing.maker_id`), and `extra_links` drops
anything whose maker is not the owner, so a new source cannot file a colleague's mail
by forgetting that filter (tests/server/sync/test_link_makers.py holds it for every
source in SOURCES).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from server.crm.models import ConversationLink, SharingRule
from server.sync.mailbox import Mailbox

Link = tuple[str, int, str]


@dataclass(frozen=True)
class Standing:
    """One standing instruction that files a new message: who made it and where it
    files the message (target type, target id, link source)."""

    maker_id: int | None
    link: Link


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def rule_links(mailbox: Mailbox, message: dict, addresses: list[str]) -> list[Standing]:
    """The owner's own rules for this mailbox naming one of `addresses` (normalised),
    for a message that arrived (or was sent) after the rule."""
    arrived = _when(message.get("receivedDateTime")) or _when(message.get("sentDateTime"))
    if arrived is None:
        return []
    return [
        Standing(rule.created_by_id, ("case", rule.case_id, "rule"))
        for rule in SharingRule.for_addresses(mailbox.session, mailbox.tenant_id, mailbox.me.id, addresses)
        # Graph's times have whole seconds: mail of the rule's own second counts as new.
        if arrived >= rule.created_at.replace(microsecond=0)
    ]


def conversation_links(mailbox: Mailbox, message: dict, addresses: list[str]) -> list[Standing]:
    """Targets of the owner's own links of the message's conversation; a colleague's
    link of the same conversation files only the colleague's mailbox."""
    return [
        Standing(link.created_by_id, (link.target_type, link.target_id, "conversation"))
        for link in ConversationLink.made_by(
            mailbox.session, mailbox.tenant_id, mailbox.me.id, message.get("conversationId")
        )
    ]


# Every source of standing instructions automatic sync consults. A new one goes here, so
# that the rule-level test checks it too.
SOURCES: tuple[Callable[[Mailbox, dict, list[str]], list[Standing]], ...] = (rule_links, conversation_links)


def standing(mailbox: Mailbox, message: dict, addresses: list[str]) -> list[Standing]:
    """What every source says about this message of this mailbox, with its maker."""
    return [found for source in SOURCES for found in source(mailbox, message, addresses)]


def extra_links(mailbox: Mailbox, message: dict, addresses: list[str]) -> list[Link]:
    """The links a new message of this mailbox gets from its owner's own rules and
    conversation links: never from anything another user made."""
    owner = mailbox.me.id
    return [found.link for found in standing(mailbox, message, addresses) if found.maker_id == owner]
