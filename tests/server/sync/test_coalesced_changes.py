"""Change notifications coalesced per mailbox: one job reads a mailbox's changed
messages in one `$batch` and marks them in one, each message filed once whatever the
notifications, and what no notification named is filed by the delta round."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from server.crm.models import Email, MailboxItem, MessageChange, SyncJob, User
from server.crm.tenants import get_or_create_user
from server.db import session_scope
from server.sync.delta import enqueue_catch_up
from server.sync.message_changes import enqueue_message
from tests.support.arrange_contacts import add_contact
from tests.support.emulated_messages import find_message, new_message, outlook_state
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, MEGAN, MEGAN_OID
from tests.support.notifications import created, watch_inbox
from tests.support.waiting import wait_idle

LYNNE = "lynne.robbins@northwind.example"


@pytest.fixture
def watched(app, crm, clean_state):
    """Adele and Megan with automatic sync for known contacts, each with a stored Inbox
    subscription (none in the emulator: the test posts the notifications), and Lynne a
    CRM contact."""
    add_contact(crm, CONTOSO, "Lynne Robbins", LYNNE, company="Northwind Traders")
    crm.commit()
    subscriptions = {}
    with session_scope(app) as session:
        for upn, oid, name in ((ADELE, ADELE_OID, "Adele Vance"), (MEGAN, MEGAN_OID, "Megan Bowen")):
            user = get_or_create_user(session, CONTOSO, oid, upn, name)
            user.update_settings(auto_sync="known_contacts")
            session.commit()
            subscriptions[upn] = watch_inbox(session, user)
    return subscriptions


def deliver(emulator, upn: str, sender: str, subject: str) -> dict:
    """Delivers a message; answers it with its immutable id, the id Graph's
    notifications carry for our subscriptions (and that our requests use), and its REST
    id, which a notification may carry too."""
    delivered = emulator.deliver(upn, new_message(sender, subject, to=(upn,)))
    immutable = find_message(emulator, upn, subject, immutable=True)["id"]
    return {**delivered, "rest_id": delivered["id"], "id": immutable}


def notify(client, notes: list[dict]) -> None:
    response = client.post("/api/v1/notifications", json={"value": notes})
    assert response.status_code == 202, response.get_data(as_text=True)


def emails_by_message_id(app) -> Counter:
    with session_scope(app) as session:
        return Counter(session.scalars(select(Email.internet_message_id)))


def graph_calls(emulator) -> list[dict]:
    """The emulator's log of the backend's Graph requests (tokens, and the test's own
    look into the mailboxes on /me, aside)."""
    return [r for r in emulator.requests() if r["path"].startswith("/v1.0") and not r["path"].startswith("/v1.0/me/")]


def parts(emulator, method: str) -> Counter:
    """Requests inside `$batch` calls by method, per message id."""
    return Counter(
        r["path"].rsplit("/", 1)[-1] for r in graph_calls(emulator) if r["in_batch"] and r["method"] == method
    )


def test_one_post_for_several_mailboxes_files_each_message_once_with_one_batch_read_and_mark_per_mailbox(
    app, client, emulator, watched
):
    adele = [deliver(emulator, ADELE, LYNNE, f"Coalesced: Adele {n}") for n in range(3)]
    megan = [deliver(emulator, MEGAN, LYNNE, f"Coalesced: Megan {n}") for n in range(2)]
    stranger = deliver(emulator, ADELE, "someone@elsewhere.example", "Coalesced: a stranger")
    emulator.clear_requests()

    notes = [created(watched[ADELE], CONTOSO, m["id"]) for m in [*adele, stranger]]
    notes += [created(watched[MEGAN], CONTOSO, m["id"]) for m in megan]
    notes.append(created(watched[ADELE], CONTOSO, adele[0]["id"]))  # Graph delivers one twice
    notify(client, notes)
    wait_idle(app)

    for upn, messages in ((ADELE, adele), (MEGAN, megan)):
        for message in messages:
            assert outlook_state(emulator, upn, message["id"])["state"] == "synced"
    # The owner's setting decides: nobody on the stranger's message is a CRM contact.
    assert outlook_state(emulator, ADELE, stranger["id"])["state"] is None
    assert emails_by_message_id(app) == Counter({m["internetMessageId"]: 1 for m in [*adele, *megan]})
    # Each message filed in its own mailbox only: coalescing never mixes mailboxes.
    with session_scope(app) as session:
        filed_in = set(
            session.execute(
                select(User.upn, Email.internet_message_id)
                .join(MailboxItem, MailboxItem.user_id == User.id)
                .join(Email, Email.id == MailboxItem.email_id)
                .where(MailboxItem.state == "synced")
            )
        )
    assert filed_in == {(ADELE, m["internetMessageId"]) for m in adele} | {
        (MEGAN, m["internetMessageId"]) for m in megan
    }

    calls = graph_calls(emulator)
    outer = [(r["method"], r["path"]) for r in calls if not r["in_batch"]]
    # Per mailbox one $batch reads its messages and one marks them: 4 calls for 5 filed.
    assert outer == [("POST", "/v1.0/$batch")] * 4
    reads, marks = parts(emulator, "GET"), parts(emulator, "PATCH")
    assert reads == Counter({m["id"]: 1 for m in [*adele, stranger, *megan]})
    assert marks == Counter({m["id"]: 1 for m in [*adele, *megan]})
    by_batch = Counter((r["batch_id"], r["mailbox"]) for r in calls if r["in_batch"])
    assert sorted(by_batch.values()) == [2, 2, 3, 4]  # Megan's read and mark, Adele's mark and read
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(MessageChange)) == 0


def test_a_message_notified_again_and_again_is_filed_and_marked_once(app, client, emulator, watched):
    message = deliver(emulator, ADELE, LYNNE, "Coalesced: notified again")
    emulator.clear_requests()
    note = created(watched[ADELE], CONTOSO, message["id"])

    notify(client, [note, note, note])
    wait_idle(app)
    notify(client, [note])  # after filing: the CRM holds it as settled, nothing is queued
    with session_scope(app) as session:
        adele = session.scalar(select(User.id).where(User.upn == ADELE))
    enqueue_message(app, CONTOSO, adele, message["id"])  # queued anyway: read, found filed
    wait_idle(app)

    assert emails_by_message_id(app) == Counter({message["internetMessageId"]: 1})
    assert parts(emulator, "PATCH") == Counter({message["id"]: 1})
    assert parts(emulator, "GET") == Counter({message["id"]: 2})
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"


def test_a_mark_that_failed_after_filing_is_completed_by_the_retry_without_filing_twice(app, client, emulator, watched):
    message = deliver(emulator, ADELE, LYNNE, "Coalesced: the mark fails")
    emulator.fault(path=r"/messages/", method="PATCH", kind="503", retry_after=3600, count=1)
    emulator.clear_requests()

    # Named by its REST id: the mark's failure is reported under the immutable id.
    notify(client, [created(watched[ADELE], CONTOSO, message["rest_id"])])
    wait_idle(app)

    # Filed by the first run, whose mark was refused; the retry read the message again,
    # found the CRM's state without Outlook's and completed the mark.
    assert emails_by_message_id(app) == Counter({message["internetMessageId"]: 1})
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"
    assert parts(emulator, "GET") == Counter({message["rest_id"]: 2})
    assert [r["status"] for r in graph_calls(emulator) if r["in_batch"] and r["method"] == "PATCH"] == [503, 200]
    with session_scope(app) as session:
        job = session.scalar(select(SyncJob).where(SyncJob.kind == "message"))
        assert (job.state, job.attempts) == ("done", 2)


def test_messages_whose_notifications_were_lost_are_filed_by_the_delta_round(app, client, emulator, watched):
    with session_scope(app) as session:
        adele = session.get(User, session.scalar(select(User.id).where(User.upn == ADELE)))
    enqueue_catch_up(app, adele)  # where the mailbox stands before the burst
    wait_idle(app)
    burst = [deliver(emulator, ADELE, LYNNE, f"Coalesced: burst {n}") for n in range(10)]
    emulator.clear_requests()

    # Every third notification is lost on the way.
    notify(client, [created(watched[ADELE], CONTOSO, m["id"]) for n, m in enumerate(burst) if n % 3])
    wait_idle(app)
    lost = [m for n, m in enumerate(burst) if not n % 3]
    assert all(outlook_state(emulator, ADELE, m["id"])["state"] is None for m in lost)

    enqueue_catch_up(app, adele)
    wait_idle(app)

    for message in burst:
        assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"
    assert emails_by_message_id(app) == Counter({m["internetMessageId"]: 1 for m in burst})
    assert parts(emulator, "PATCH") == Counter({m["id"]: 1 for m in burst})


def test_a_message_that_cannot_be_read_keeps_its_change_and_fails_the_job_while_the_rest_are_filed(
    app, client, emulator, watched
):
    message = deliver(emulator, ADELE, LYNNE, "Coalesced: beside a broken id")
    notify(
        client, [created(watched[ADELE], CONTOSO, "AAMkAG-no-such-id"), created(watched[ADELE], CONTOSO, message["id"])]
    )
    wait_idle(app)

    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"
    assert emails_by_message_id(app) == Counter({message["internetMessageId"]: 1})
    with session_scope(app) as session:
        assert list(session.scalars(select(MessageChange.graph_id))) == ["AAMkAG-no-such-id"]
        job = session.scalar(select(SyncJob).where(SyncJob.kind == "message"))
        assert job.state == "failed" and "AAMkAG-no-such-id" in job.error
