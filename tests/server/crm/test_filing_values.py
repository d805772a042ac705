"""Filing for a sync answers values, not session entities (`file_email_values`): the
same rows as `file_email`, nothing added to the session, an entity the session holds
refreshed all the same, and the links written by one multi-row INSERT whatever their
number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import event, select

from server.crm.filing import FiledEmail, file_email, file_email_values, set_item_state
from server.crm.models import Email, EmailLink, ItemState, MailboxItem
from server.crm.tenants import get_or_create_user
from server.crm.upsert import ROWS_PER_INSERT, insert_ignore_rows
from tests.support.identities import ADELE_OID, CONTOSO, FABRIKAM, PAT_OID

WARSAW = timezone(timedelta(hours=1))
MESSAGE = {
    "internet_message_id": "<values-1@acme.example>",
    "conversation_id": "conv-values",
    "subject": "Values, not entities",
    "from_address": "Alice Archer <Alice@Acme.example>",
    "to": [{"address": "Adele.Vance@contoso.com", "name": "Adele Vance"}],
    "cc": [{"address": "megan.bowen@contoso.com", "name": ""}],
    "sent_at": datetime(2026, 11, 2, 10, 30, tzinfo=WARSAW),
    "received_at": datetime(2026, 11, 2, 10, 31, tzinfo=WARSAW),
    "body_html": "<p>Hello<script>x()</script></p>",
    "attachments": [{"name": "quote.pdf", "content_type": "application/pdf", "size": 12}],
}
# Targets the caller has read from the tenant (`known`: not looked up again).
LINKS = [("contact", 101, "address"), ("company", 7, "company"), ("contact", 102, "address")]


def columns(obj, *leave_out: str) -> dict:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in leave_out}


def links_of(db, email_id: int) -> list[tuple]:
    rows = db.scalars(select(EmailLink).where(EmailLink.email_id == email_id).order_by(EmailLink.id))
    return [(link.tenant_id, link.target_type, link.target_id, link.source, link.created_by_id) for link in rows]


class Statements:
    def __init__(self, db):
        self.engine = db.get_bind()
        self.seen: list[tuple[str, bool]] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self.seen

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, _conn, _cursor, statement, _params, _context, executemany):
        self.seen.append((" ".join(statement.split()), executemany))


def test_values_write_the_rows_file_email_writes_and_add_nothing_to_the_session(db):
    adele = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    pat = get_or_create_user(db, FABRIKAM, PAT_OID, "pat.kowalski@fabrikam.com", "Pat Kowalski")
    db.commit()
    held_before = set(db.identity_map.keys())
    email, item, created = file_email_values(db, CONTOSO, adele, MESSAGE, "graph-v1", "inbox", known=LINKS)
    assert created and isinstance(email, FiledEmail) and isinstance(item, ItemState)
    assert set(db.identity_map.keys()) == held_before and not db.new and not db.dirty
    assert (email.tenant_id, item.state, item.email_id, item.email_in_tenant) == (CONTOSO, "synced", email.id, email.id)

    # The same message filed by file_email in another tenant: the same values in every
    # column but the keys and the time of writing.
    other, other_item, _ = file_email(db, FABRIKAM, pat, MESSAGE, "graph-v1", "inbox", known=LINKS)
    db.expunge_all()
    stored = db.get(Email, email.id)
    stored_item = db.get(MailboxItem, item.id)
    assert stored.sent_at == MESSAGE["sent_at"] and stored.sent_at.utcoffset() == timedelta(0)
    keys = ("id", "tenant_id", "created_at")
    assert columns(stored, *keys) == columns(db.get(Email, other.id), *keys)
    assert columns(stored_item, "id", "tenant_id", "user_id", "email_id", "updated_at") == columns(
        db.get(MailboxItem, other_item.id), "id", "tenant_id", "user_id", "email_id", "updated_at"
    )
    assert (stored_item.user_id, stored_item.email_id, stored_item.graph_id) == (adele.id, email.id, "graph-v1")
    assert links_of(db, email.id) == [(CONTOSO, kind, target, source, adele.id) for kind, target, source in LINKS]
    link_times = {link.created_at for link in db.scalars(select(EmailLink).where(EmailLink.email_id == email.id))}
    assert link_times == {stored_item.updated_at}  # one time of filing, stored as any other
    assert stored_item.updated_at.tzinfo is not None and stored_item.updated_at.utcoffset() == timedelta(0)


def test_filing_again_finds_the_email_and_keeps_the_links(db):
    adele = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    first, first_item, created = file_email_values(db, CONTOSO, adele, MESSAGE, "graph-v2", "inbox", known=LINKS[:2])
    again, item, created_again = file_email_values(db, CONTOSO, adele, MESSAGE, "graph-v2", "sent", known=LINKS)
    assert (created, created_again) == (True, False)
    assert again == first and item.id == first_item.id
    assert links_of(db, first.id) == [(CONTOSO, kind, target, source, adele.id) for kind, target, source in LINKS]
    assert db.scalar(select(MailboxItem.folder).where(MailboxItem.id == item.id)) == "sent"


def test_an_item_the_session_holds_is_refreshed(db):
    """No stale entity stays behind: automatic sync loads the items it decides on, then
    files them through this path."""
    adele = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    held = set_item_state(db, CONTOSO, adele, "graph-v3", "pending", folder="inbox")
    assert (held.state, held.email_id) == ("pending", None)
    email, item, _ = file_email_values(db, CONTOSO, adele, MESSAGE, "graph-v3", "archive")
    assert item.id == held.id
    assert (held.state, held.email_id, held.folder) == ("synced", email.id, "archive")
    assert held not in db.dirty


def test_the_links_are_one_insert_not_an_executemany(db):
    adele = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    with Statements(db) as seen:
        file_email_values(db, CONTOSO, adele, MESSAGE, "graph-v4", "inbox", known=LINKS)
    inserts = [(s, many) for s, many in seen if s.startswith("INSERT INTO email_links")]
    assert len(inserts) == 1 and not inserts[0][1]
    assert inserts[0][0].count("), (") == len(LINKS) - 1 and "ON CONFLICT" in inserts[0][0]
    with Statements(db) as seen:
        file_email_values(db, CONTOSO, adele, MESSAGE, "graph-v4", "inbox")
    assert not [s for s, _ in seen if s.startswith("INSERT INTO email_links")]  # no links, no statement


def test_many_rows_go_in_several_inserts_and_repeats_are_ignored(db):
    adele = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    email, _, _ = file_email_values(db, CONTOSO, adele, MESSAGE, "graph-v5", "inbox")
    now = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    shared = {"tenant_id": CONTOSO, "email_id": email.id, "created_by_id": adele.id, "created_at": now}
    rows = [{"target_type": "contact", "target_id": n, "source": "address"} for n in range(ROWS_PER_INSERT * 2 + 5)]
    with Statements(db) as seen:
        insert_ignore_rows(db.connection(), EmailLink, shared, rows, ["email_id", "target_type", "target_id"])
        insert_ignore_rows(db.connection(), EmailLink, shared, rows[:10], ["email_id", "target_type", "target_id"])
    db.commit()
    assert len(seen) == 4
    stored = db.scalars(select(EmailLink).where(EmailLink.email_id == email.id)).all()
    assert sorted(link.target_id for link in stored) == list(range(len(rows)))
    assert {link.created_at for link in stored} == {now}
