"""What the pane suggests about the open message's conversation: the records colleagues
of the same tenant file it on and the user does not.

A colleague's conversation link files only the colleague's own mailbox (rules.py), so
the pane offers the user to make their own link to the same record ("Adele Vance files
this conversation on case X - file yours too?"). Suggesting reads nothing of anyone's
mailbox: it is one indexed query on the CRM's links of this conversation, in the
caller's tenant.
"""

from __future__ import annotations

from typing import Any

from server.crm.cases import LINKABLE, record_title, users_by_id
from server.crm.models import ConversationLink
from server.sync.mailbox import Mailbox


def wants_links(conversation_id: str | None, state: str) -> bool:
    """Whether colleague_links reads the conversation's links for this message."""
    return bool(conversation_id) and state != "excluded"


def read_conversation_links(mailbox: Mailbox, conversation_id: str | None) -> list:
    """The conversation's links in the caller's tenant, as colleague_links takes them."""
    return ConversationLink.values_for_conversation(mailbox.session, mailbox.tenant_id, conversation_id)


def colleague_links(mailbox: Mailbox, conversation_id: str | None, state: str, links: list | None = None) -> list[dict]:
    """[{"target_type", "target_id", "title", "url", "made_by"}], one per record that a
    colleague's link of this conversation files on and none of the user's own links
    does, oldest link first: cases and tasks, what a conversation link may name. Nothing
    for a message the user marked "don't sync" (`excluded`), and nothing for links whose
    maker or record is gone. `links`: the conversation's links in the caller's tenant as
    rows of ConversationLink.values_for_conversation, when the caller read them already."""
    if not wants_links(conversation_id, state):
        return []
    me = mailbox.me.id
    # Plain rows, oldest first (the pane asks on every open and sync).
    if links is None:
        links = ConversationLink.values_for_conversation(mailbox.session, mailbox.tenant_id, conversation_id)
    mine = {(link.target_type, link.target_id) for link in links if link.created_by_id == me}
    theirs: dict[tuple[str, int], Any] = {}
    for link in links:
        key = (link.target_type, link.target_id)
        if link.target_type in LINKABLE and link.created_by_id not in (None, me) and key not in mine:
            theirs.setdefault(key, link)
    if not theirs:
        return []
    users = users_by_id(mailbox.session, mailbox.tenant_id, [link.created_by_id for link in theirs.values()])
    found = []
    for (target_type, target_id), link in theirs.items():
        maker = users.get(link.created_by_id)
        title = record_title(mailbox.session, mailbox.tenant_id, target_type, target_id)
        if maker is None or title is None:
            continue
        found.append(
            {
                "target_type": target_type,
                "target_id": target_id,
                "title": title,
                "url": getattr(mailbox.links, target_type)(target_id),
                "made_by": maker.display_name or maker.upn,
            }
        )
    return found
