"""The SQL of the pane's open and sync: few statements, each scoped to the caller's tenant,
and none that grows with the tenant (the tenant's own domains are on its row, not read
from every user). bench/b1_profile.py --sql lists them; these pin the count."""

from __future__ import annotations

import re

from sqlalchemy import event

from server.db import engine_for
from tests.support.arrange_contacts import seed_contoso
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO

SUBJECT = "Plain: order confirmation from Northwind"


class Statements:
    def __init__(self, app):
        self.engine = engine_for(app)
        self.seen: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self.seen

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, _conn, _cursor, statement, *_args):
        self.seen.append(" ".join(statement.split()))


def tables(statements: list[str]) -> list[str]:
    """The table each statement reads or writes first, leaving out the user's own
    once-a-day records (their addresses and time zone read from Graph)."""
    return [
        re.match(r"(?:SELECT .*? FROM|INSERT INTO|UPDATE) (\w+)", s).group(1)
        for s in statements
        if not s.startswith("UPDATE users")
    ]


def test_open_and_sync_run_few_statements_and_never_read_every_user(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    assert user.get("/settings/me").status_code == 200  # the CRM knows the user from now on
    with Statements(app) as opened:
        assert user.get(f"/messages/{message['id']}").status_code == 200
    with Statements(app) as synced:
        answer = user.post(f"/messages/{message['id']}/sync")
        assert answer.status_code == 200 and answer.json["attachments"] == []
    with Statements(app) as reopened:
        assert user.get(f"/messages/{message['id']}").json["crm_email_id"] == answer.json["crm_email_id"]

    # The user with their tenant (and its domains), the item with its email's id, the
    # Outlook contacts' pairings, the match, the conversation's links; no email yet, so
    # no attachments to read.
    assert tables(opened) == ["users", "mailbox_items", "outlook_contact_links", "contact_emails", "conversation_links"]
    # Filing: the email, the item, the links. A message Outlook does not show as synced
    # cannot be filed already, so its CRM record is not read first. The links' targets
    # are the contacts (and their companies) the match has just read from the tenant,
    # so they are not looked up again. A new email of a message that lists no
    # attachments has none: they are not read back. The conversation's links (the
    # answer's colleague suggestions) are read in the match's transaction, before
    # filing commits, not in a second one after it.
    assert tables(synced) == [
        "users",
        "contact_emails",
        "conversation_links",
        "emails",
        "mailbox_items",
        "email_links",
    ]
    # Once filed: the email's attachments and the conversation's links in one UNION.
    assert tables(reopened) == [
        "users",
        "mailbox_items",
        "outlook_contact_links",
        "contact_emails",
        "email_attachments",
    ]
    assert "UNION ALL" in reopened[-1] and "conversation_links" in reopened[-1]
    for statement in [*opened, *synced, *reopened]:
        if statement.startswith("UPDATE users"):
            continue  # the caller's own row, by its id
        assert not re.search(r"FROM users WHERE users\.tenant_id = \S+$", statement), statement
        assert "tenant_id" in statement, statement
