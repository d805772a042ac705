"""A mailbox of thousands of messages for the bulk-sync tests, their senders as CRM
contacts, and the Graph calls a bulk sync made, read from the emulator's request log."""

from __future__ import annotations

from server.db import session_scope
from tests.support.arrange_contacts import add_contact
from tests.support.emulated_messages import new_message
from tests.support.identities import ADELE, CONTOSO

COUNT = 2000
SINCE = "2026-11-20"


def deliver_many(emulator, count: int = COUNT) -> None:
    """`count` messages received 2026-11-21 onwards, one second apart, from 40 senders."""
    batch = []
    for n in range(count):
        seconds = n
        batch.append(
            new_message(
                f"customer{n % 40}@northwind.example",
                f"Bulk {n:05d}",
                receivedDateTime=f"2026-11-21T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z",
            )
        )
        if len(batch) == 500:
            emulator.admin("POST", "messages/bulk", json={"upn": ADELE, "folder": "inbox", "messages": batch})
            batch = []
    if batch:
        emulator.admin("POST", "messages/bulk", json={"upn": ADELE, "folder": "inbox", "messages": batch})


def graph_calls(emulator):
    """(list pages, $batch calls, throttled answers) in the request log."""
    rows = emulator.requests()
    pages = [
        r
        for r in rows
        if r["method"] == "GET"
        and not r["in_batch"]
        and r["path"].endswith("/messages")
        and "/mailFolders" in r["path"]
    ]
    batches = [r for r in rows if r["method"] == "POST" and r["path"].endswith("/$batch")]
    throttled = [r for r in rows if r["status"] in (429, 503, 504)]
    patches = [r for r in rows if r["in_batch"] and r["method"] == "PATCH" and r["status"] == 200]
    return pages, batches, throttled, patches


def customers_in_crm(app) -> None:
    """The 40 senders as CRM contacts: bulk sync files only mail with a CRM contact on it."""
    with session_scope(app) as session:
        for n in range(40):
            add_contact(session, CONTOSO, f"Customer {n}", f"customer{n}@northwind.example")
