"""Finding a message the user sent, from what the add-in's send handler saw of it.

When the CRM cannot be reached at send, the OnMessageSend handler lets the message go
out unfiled and remembers its subject, recipients and the time (the draft has no id
that the sent copy keeps: Outlook gives the sent copy a new item id, and the
internetMessageId is set only when it leaves). The pane then offers "File now", which
finds the sent copy here and files it through the sync endpoint.

The sent copy is sent at or after the moment the handler ran (later from the Outbox),
so we look at Sent Items from a little before that time (the client's clock may be
behind), oldest first, and keep the messages with the same subject and every
remembered recipient, the closest in time first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import islice

from server.crm.addresses import normalise_address
from server.graph.messages import MESSAGE_FIELDS
from server.graph.odata import iso_datetime
from server.sync.mailbox import Mailbox
from server.sync.people import people_of

# How far before the handler's clock a sent copy may be stamped (clocks differ).
CLOCK_SLACK = timedelta(minutes=10)
# How many Sent Items after that moment are looked at (one Graph page).
LOOK_AT = 50
FOUND_LIMIT = 5


def _sent(message: dict) -> datetime | None:
    value = message.get("sentDateTime")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _email_id(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _subject(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def find_sent(mailbox: Mailbox, subject: str, sent_at: datetime, to: Iterable[str] = ()) -> list[dict]:
    """Sent Items messages that can be the one sent at `sent_at` with `subject` to `to`:
    [{"id", "subject", "sent_at", "state", "crm_email_id"}], the closest in time first.
    Raises GraphError."""
    wanted = {a for a in map(normalise_address, to) if a}
    listed = mailbox.graph.list_messages(
        "sentitems",
        select=MESSAGE_FIELDS,
        filter=f"sentDateTime ge {iso_datetime(sent_at - CLOCK_SLACK)}",
        order_by="sentDateTime asc",
        page_size=LOOK_AT,
        crm=True,
    )
    found = []
    for message in islice(listed, LOOK_AT):
        if _subject(message.get("subject")) != _subject(subject):
            continue
        addresses = {p.address for p in people_of(message) if p.address}
        if not wanted <= addresses:
            continue
        found.append(message)
    found.sort(key=lambda m: abs(((_sent(m) or sent_at) - sent_at).total_seconds()))
    return [
        {
            "id": m["id"],
            "subject": m.get("subject") or "",
            "sent_at": m.get("sentDateTime"),
            "state": (m.get("crm") or {}).get("state") or "none",
            "crm_email_id": _email_id((m.get("crm") or {}).get("email_id")),
        }
        for m in found[:FOUND_LIMIT]
    ]
