"""Mark as synced / unsynced: what automatic and bulk sync will do with a message.

"Synced" (state `excluded`) means: never file it; "unsynced" (state `pending`) means:
file it on the next automatic or bulk round, then mark it synced. The mark lives on
the message in Outlook (extended property + category, so every Outlook client shows
it) and in the CRM's MailboxItem.
"""

from __future__ import annotations

from server.crm.filing import set_item_state
from server.graph import properties as props
from server.sync.mailbox import Mailbox
from server.sync.view import crm_item, message_view

MARKS = {
    # mark: (state, categories to add, categories to remove)
    "synced": ("excluded", [props.CATEGORY_SYNCED], [props.CATEGORY_SYNC, props.CATEGORY_DONT_SYNC]),
    "unsynced": ("pending", [props.CATEGORY_SYNC], [props.CATEGORY_SYNCED, props.CATEGORY_DONT_SYNC]),
}


def set_mark(mailbox: Mailbox, message_id: str, mark: str) -> dict:
    """Marks the message; returns the message view. A message already filed stays
    `synced` when marked synced: filed as Outlook shows it, or as the CRM has it when
    Outlook's mark could not be written after the filing (a failed PATCH).
    Raises GraphError; ValueError for an unknown mark."""
    if mark not in MARKS:
        raise ValueError(f"unknown mark {mark!r}")
    message = mailbox.graph.get_message(message_id)
    state, add, remove = MARKS[mark]
    if mark == "synced" and _filed(mailbox, message):
        state = "synced"
    item = set_item_state(
        mailbox.session, mailbox.tenant_id, mailbox.me, message["id"], state, folder=message.get("parentFolderId")
    )
    categories = props.merge_categories(message.get("categories"), add=add, remove=remove)
    mailbox.graph.update_message(message["id"], categories=categories, properties={props.SYNC_STATE: state})
    message = {**message, "categories": categories, "crm": {**(message.get("crm") or {}), "state": state}}
    return message_view(mailbox, message, item=item)


def _filed(mailbox: Mailbox, message: dict) -> bool:
    if (message.get("crm") or {}).get("state") == "synced":
        return True
    item = crm_item(mailbox, message)
    return item is not None and item.state == "synced" and item.email_in_tenant is not None
