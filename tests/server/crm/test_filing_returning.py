"""Filing answers the Email and MailboxItem it wrote without reading them back: the
objects are built from the values written and the keys the INSERT returned. They must be
what the database holds, as a fresh read gives it, and an item the session held
already is refreshed, not duplicated."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from server.crm.filing import file_email, set_item_state
from server.crm.models import Email, MailboxItem
from server.crm.tenants import get_or_create_user
from tests.support.identities import ADELE_OID, CONTOSO

WARSAW = timezone(timedelta(hours=1))
MESSAGE = {
    "internet_message_id": "<returning-1@acme.example>",
    "conversation_id": "conv-returning",
    "subject": "Written, not read back",
    "from_address": "Alice Archer <Alice@Acme.example>",
    "to": [{"address": "Adele.Vance@contoso.com", "name": "Adele Vance"}],
    "sent_at": datetime(2026, 11, 2, 10, 30, tzinfo=WARSAW),
    "received_at": datetime(2026, 11, 2, 10, 31, tzinfo=WARSAW),
    "body_html": "<p>Hello<script>x()</script></p>",
    "attachments": [{"name": "quote.pdf", "content_type": "application/pdf", "size": 12}],
}


def columns(obj) -> dict:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def test_the_written_email_and_item_are_what_a_fresh_read_gives(db):
    adele = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    email, item, created = file_email(db, CONTOSO, adele, MESSAGE, "graph-r1", "inbox", [])
    assert created and email in db and item in db and not db.dirty
    assert email.sent_at.utcoffset() == timedelta(0) and email.sent_at == MESSAGE["sent_at"]
    written = (columns(email), columns(item))
    db.expunge_all()
    fresh_email = db.scalar(select(Email).where(Email.id == written[0]["id"]))
    fresh_item = db.scalar(select(MailboxItem).where(MailboxItem.id == written[1]["id"]))
    assert (columns(fresh_email), columns(fresh_item)) == written
    assert fresh_email.links == [] and fresh_email.tenant_id == CONTOSO


def test_an_item_the_session_holds_is_refreshed_by_filing(db):
    adele = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    held = set_item_state(db, CONTOSO, adele, "graph-r2", "pending", folder="inbox")
    assert (held.state, held.email_id) == ("pending", None)
    email, item, _ = file_email(db, CONTOSO, adele, {**MESSAGE, "internet_message_id": "<r2@x>"}, "graph-r2", "inbox")
    assert item is held and (item.state, item.email_id) == ("synced", email.id)
    again, same_item, created = file_email(
        db, CONTOSO, adele, {**MESSAGE, "internet_message_id": "<r2@x>"}, "graph-r2", "inbox"
    )
    assert not created and again is email and same_item is held
