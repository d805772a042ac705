"""Sharing rules and linked conversations: the case links automatic sync adds.

A sharing rule (mailbox + case + address) files every NEW message of that mailbox
from or to the address, incoming and outgoing, on the case (source "rule"). Mail
that arrived before the rule was created is left alone. A linked conversation
(ConversationLink) files each new message of the conversation on its target (source
"conversation"). Both apply whatever the user's auto_sync setting, since the user
asked for them explicitly; marks and the never-sync list still win (automatic.py).
"""

from __future__ import annotations

from datetime import datetime

from server.crm.models import ConversationLink, SharingRule
from server.sync.mailbox import Mailbox

Link = tuple[str, int, str]


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def rule_links(mailbox: Mailbox, message: dict, addresses: list[str]) -> list[Link]:
    """Cases of this mailbox's rules naming one of `addresses` (normalised), for a
    message that arrived (or was sent) after the rule."""
    arrived = _when(message.get("receivedDateTime")) or _when(message.get("sentDateTime"))
    if arrived is None:
        return []
    return [
        ("case", rule.case_id, "rule")
        for rule in SharingRule.for_addresses(mailbox.session, mailbox.tenant_id, mailbox.user.id, addresses)
        # Graph's times have whole seconds: mail of the rule's own second counts as new.
        if arrived >= rule.created_at.replace(microsecond=0)
    ]


def conversation_links(mailbox: Mailbox, message: dict) -> list[Link]:
    """Targets of the message's linked conversation."""
    return [
        (link.target_type, link.target_id, "conversation")
        for link in ConversationLink.for_conversation(mailbox.session, mailbox.tenant_id, message.get("conversationId"))
    ]


def extra_links(mailbox: Mailbox, message: dict, addresses: list[str]) -> list[Link]:
    return [*rule_links(mailbox, message, addresses), *conversation_links(mailbox, message)]
