"""Filing a message: one Email per tenant per internetMessageId, one MailboxItem
per user per Graph id, idempotent links, safe under concurrency."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

from server.crm.filing import file_email, file_email_values, link_email, set_item_state
from server.crm.models import Case, Company, Contact, Email, EmailLink, MailboxItem, User
from server.crm.tenants import get_or_create_user
from tests.support.identities import ADELE_OID, CONTOSO, FABRIKAM, MEGAN_OID, PAT_OID

MESSAGE = {
    "internet_message_id": "<quote-42@acme.example>",
    "conversation_id": "AAQkAGI2conv42",
    "subject": "Quote 42",
    "from_address": "Alice Archer <Alice@Acme.example>",
    "from_name": "Alice Archer",
    "to": [{"address": "adele.vance@contoso.com", "name": "Adele Vance"}],
    "cc": [{"address": "Megan.Bowen@contoso.com", "name": "Megan Bowen"}],
    "sent_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    "received_at": datetime(2026, 11, 2, 9, 31, tzinfo=UTC),
    "body_html": '<p onclick="x()">Please find the quote.<script>alert(1)</script>'
    '<img src="https://tracker.example/p.gif"></p>',
    "attachments": [{"name": "quote.pdf", "content_type": "application/pdf", "size": 12345}],
}


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def adele(db):
    user = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    return user


@pytest.fixture
def megan(db):
    user = get_or_create_user(db, CONTOSO, MEGAN_OID, "megan.bowen@contoso.com", "Megan Bowen")
    db.commit()
    return user


@pytest.fixture
def alice(db, adele):
    acme = Company(tenant_id=CONTOSO, name="Acme")
    contact = Contact(tenant_id=CONTOSO, display_name="Alice Archer", company=acme)
    contact.add_address("alice@acme.example")
    db.add(contact)
    db.commit()
    return contact


def test_filing_stores_a_sanitised_normalised_email(db, adele):
    email, item, created = file_email(db, CONTOSO, adele, MESSAGE, "graph-1", "inbox", [])
    assert created
    assert email.from_address == "alice@acme.example"
    assert email.cc == [{"address": "megan.bowen@contoso.com", "name": "Megan Bowen"}]
    assert "<script" not in email.body_html and "onclick" not in email.body_html
    assert 'data-src="https://tracker.example/p.gif"' in email.body_html
    assert email.preview == "Please find the quote."
    assert email.has_attachments and email.attachments[0]["name"] == "quote.pdf"
    assert email.sent_at == MESSAGE["sent_at"]
    assert (item.state, item.email_id, item.folder, item.user_id) == ("synced", email.id, "inbox", adele.id)


def test_second_sync_of_same_message_is_one_email(db, adele, alice):
    links = [("contact", alice.id, "address")]
    first, _, created_first = file_email(db, CONTOSO, adele, MESSAGE, "graph-1", "inbox", links)
    again, _, created_again = file_email(db, CONTOSO, adele, MESSAGE, "graph-1", "inbox", links)
    assert (created_first, created_again) == (True, False)
    assert first.id == again.id
    assert (count(db, Email), count(db, MailboxItem), count(db, EmailLink)) == (1, 1, 1)


def test_two_users_with_the_same_message_give_one_email_and_two_mailbox_items(db, adele, megan):
    email_a, item_a, _ = file_email(db, CONTOSO, adele, MESSAGE, "adele-graph-id", "inbox", [])
    email_m, item_m, created = file_email(db, CONTOSO, megan, MESSAGE, "megan-graph-id", "inbox", [])
    assert not created
    assert email_a.id == email_m.id
    assert item_a.id != item_m.id
    assert (count(db, Email), count(db, MailboxItem)) == (1, 2)


def test_same_message_in_two_tenants_is_two_emails(db, adele):
    pat = get_or_create_user(db, FABRIKAM, PAT_OID, "pat.kowalski@fabrikam.com", "Pat Kowalski")
    db.commit()
    a, _, _ = file_email(db, CONTOSO, adele, MESSAGE, "g1", "inbox", [])
    b, _, created = file_email(db, FABRIKAM, pat, MESSAGE, "g1", "inbox", [])
    assert created and a.id != b.id


def test_links_accumulate_without_duplicates(db, adele, alice):
    case = Case(tenant_id=CONTOSO, title="Big deal")
    db.add(case)
    db.commit()
    email, _, _ = file_email(
        db,
        CONTOSO,
        adele,
        MESSAGE,
        "g1",
        "inbox",
        [("contact", alice.id, "address"), ("company", alice.company_id, "company")],
    )
    file_email(
        db, CONTOSO, adele, MESSAGE, "g1", "inbox", [("contact", alice.id, "manual"), ("case", case.id, "manual")]
    )
    assert link_email(db, CONTOSO, email, [("case", case.id, "manual")]) == 0
    db.expire_all()
    links = {(l.target_type, l.target_id, l.source) for l in db.get(Email, email.id).links}
    assert links == {
        ("contact", alice.id, "address"),  # the first reason is kept
        ("company", alice.company_id, "company"),
        ("case", case.id, "manual"),
    }
    assert EmailLink.emails_of(db, CONTOSO, "contact", alice.id) is not None
    assert db.scalars(EmailLink.emails_of(db, CONTOSO, "contact", alice.id)).all() == [db.get(Email, email.id)]


def test_a_target_of_another_tenant_is_refused_and_nothing_is_written(db, adele):
    pat = get_or_create_user(db, FABRIKAM, PAT_OID, "pat.kowalski@fabrikam.com", "Pat Kowalski")
    foreign = Contact(tenant_id=FABRIKAM, display_name="Foreign")
    db.add(foreign)
    db.commit()
    with pytest.raises(ValueError):
        file_email(db, CONTOSO, adele, MESSAGE, "g1", "inbox", [("contact", foreign.id, "address")])
    with pytest.raises(ValueError):
        file_email(db, CONTOSO, pat, MESSAGE, "g1", "inbox", [])
    with pytest.raises(ValueError):
        file_email(db, CONTOSO, adele, MESSAGE, "g1", "inbox", [("planet", 1, "address")])
    assert (count(db, Email), count(db, MailboxItem), count(db, EmailLink)) == (0, 0, 0)


def test_known_targets_are_not_looked_up_again_and_the_rest_still_are(db, adele, alice):
    """`known` links (the targets match_addresses has just read from the tenant) cost no
    lookup; every other link's target is still checked, and both kinds' types and
    sources are."""
    get_or_create_user(db, FABRIKAM, PAT_OID, "pat.kowalski@fabrikam.com", "Pat Kowalski")
    foreign = Contact(tenant_id=FABRIKAM, display_name="Foreign")
    db.add(foreign)
    db.commit()
    statements: list[str] = []
    engine = db.get_bind()

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        file_email(db, CONTOSO, adele, MESSAGE, "g1", "inbox", known=[("contact", alice.id, "address")])
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert not any("UNION ALL" in s for s in statements)
    assert db.scalars(EmailLink.emails_of(db, CONTOSO, "contact", alice.id)).all()
    with pytest.raises(ValueError):
        file_email(
            db,
            CONTOSO,
            adele,
            MESSAGE,
            "g2",
            "inbox",
            [("contact", foreign.id, "address")],
            known=[("contact", alice.id, "address")],
        )
    with pytest.raises(ValueError):
        file_email(db, CONTOSO, adele, MESSAGE, "g3", "inbox", known=[("planet", 1, "address")])
    assert count(db, MailboxItem) == 1


def test_marking_a_filed_message_keeps_its_email(db, adele):
    email, _, _ = file_email(db, CONTOSO, adele, MESSAGE, "g1", "inbox", [])
    item = set_item_state(db, CONTOSO, adele, "g1", "excluded")
    assert (item.state, item.email_id) == ("excluded", email.id)
    item = set_item_state(db, CONTOSO, adele, "g2", "pending", folder="inbox")
    assert (item.state, item.email_id, item.folder) == ("pending", None, "inbox")
    # Filing a pending message makes it synced.
    _, item, _ = file_email(db, CONTOSO, adele, {**MESSAGE, "internet_message_id": "<other@x>"}, "g2", "inbox", [])
    assert item.state == "synced"
    with pytest.raises(ValueError):
        set_item_state(db, CONTOSO, adele, "g1", "done")


def test_message_without_internet_message_id_is_keyed_by_its_mailbox_id(db, adele):
    fields = {**MESSAGE, "internet_message_id": ""}
    a, _, _ = file_email(db, CONTOSO, adele, fields, "draft-1", "drafts", [])
    b, _, _ = file_email(db, CONTOSO, adele, fields, "draft-2", "drafts", [])
    assert a.id != b.id


def test_plain_text_body_is_escaped(db, adele):
    fields = {k: v for k, v in MESSAGE.items() if k != "body_html"}
    fields["body_text"] = "1 < 2 & <b>not bold</b>\nline two"
    email, _, _ = file_email(db, CONTOSO, adele, fields, "g1", "inbox", [])
    assert "<b>" not in email.body_html and "&lt;b&gt;" in email.body_html
    assert email.preview == "1 < 2 & <b>not bold</b> line two"


@pytest.mark.parametrize("filing", [file_email, file_email_values], ids=["entities", "values"])
def test_ten_parallel_syncs_of_one_message_give_one_email(db, session_factory, adele, megan, alice, filing):
    """Ten workers (threads with their own sessions) file the same message at
    once, for two users: one Email, one MailboxItem per user, one link; whether
    filing answers entities or values (what a sync uses)."""
    barrier = threading.Barrier(10)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    users = [adele.id, megan.id]

    def worker(n: int):
        session = session_factory()
        try:
            user = session.get(User, users[n % 2])
            barrier.wait()
            email, item, created = filing(
                session, CONTOSO, user, MESSAGE, f"graph-{user.id}", "inbox", [("contact", alice.id, "address")]
            )
            results.append((email.id, created))
        except BaseException as exc:  # collected: a thread's exception would be lost
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(results) == 10
    assert len({email_id for email_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert (count(db, Email), count(db, MailboxItem), count(db, EmailLink)) == (1, 2, 1)
