"""A conversation link or sharing rule files only its maker's own mailbox.

Adele and Megan are two real users of one tenant (the emulator's Contoso). Whatever
Adele links or rules, a new message in Megan's mailbox (delivered by change
notification or found by a delta round) stays unfiled and unmarked, no job reads
Megan's mailbox because of it, and Adele's own mail is still filed; Megan's own link
files Megan's mail. The last test holds the rule itself for every source of standing
instructions automatic sync consults (server/sync/rules.py SOURCES), so that a new
kind cannot reach into a colleague's mailbox by forgetting whose it is.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from server.crm.models import Case, ConversationLink, Email, EmailLink, MailboxItem, SharingRule, SyncJob, User
from server.crm.tenants import get_or_create_user
from server.crm.types import utcnow
from server.db import session_scope
from server.sync import rules
from server.sync.automatic import FILE, decide
from server.sync.delta import enqueue_catch_up
from server.sync.mailbox_factory import app_only_mailbox
from server.sync.subscriptions import schedule_upkeep
from server.sync.watching import watched_users
from tests.support.auto_sync import subscriptions
from tests.support.emulated_messages import find_message, new_message, outlook_state
from tests.support.identities import ADELE, CONTOSO, MEGAN, MEGAN_OID
from tests.support.waiting import wait_for, wait_idle

LYNNE = "lynne.robbins@northwind.example"
THREAD = "AAQkADBiNWU4ZjRhLWxpbmstbWFrZXJzLXRocmVhZAAQAA="


def thread_message(subject: str, to: str, **extra) -> dict:
    return new_message(LYNNE, subject, to=[to], conversationId=THREAD, **extra)


def add_megan(app) -> int:
    with session_scope(app) as session:
        user = get_or_create_user(session, CONTOSO, MEGAN_OID, MEGAN, "Megan Bowen")
        session.commit()
        return user.id


def filed_on(app, target_type: str, target_id: int) -> dict[str, str]:
    """subject -> link source of the emails filed on a record."""
    with session_scope(app) as session:
        rows = session.execute(
            select(Email.subject, EmailLink.source)
            .join(EmailLink, EmailLink.email_id == Email.id)
            .where(EmailLink.target_type == target_type, EmailLink.target_id == target_id)
        ).all()
    return dict(rows)


def untouched(app, emulator, upn: str, user_id: int, subject: str) -> None:
    """The message is in the mailbox, unmarked in Outlook, and the CRM holds nothing of it."""
    message = find_message(emulator, upn, subject)
    assert outlook_state(emulator, upn, message["id"]) == {"state": None, "email_id": None, "categories": []}
    with session_scope(app) as session:
        assert session.scalar(select(Email.id).where(Email.subject == subject)) is None
        assert session.scalar(select(func.count()).select_from(MailboxItem).where(MailboxItem.user_id == user_id)) == 0


def jobs_of(app, user_id: int, kind: str, state: str | None = None) -> int:
    with session_scope(app) as session:
        query = select(func.count()).select_from(SyncJob).where(SyncJob.user_id == user_id, SyncJob.kind == kind)
        if state:
            query = query.where(SyncJob.state == state)
        return session.scalar(query)


def megan_was_read(emulator) -> bool:
    return any(
        MEGAN_OID in r["path"] or (r["mailbox"] or "").lower() in (MEGAN, MEGAN_OID) for r in emulator.requests()
    )


def adele_links_the_thread(pane, emulator) -> int:
    """Adele files her message of the thread and links the thread to a new case."""
    emulator.deliver(ADELE, thread_message("Thread: rollout plan", ADELE))
    message = find_message(emulator, ADELE, "Thread: rollout plan")
    filed = pane(ADELE).post(f"/messages/{message['id']}/sync")
    assert filed.status_code == 200, filed.json
    answer = pane(ADELE).post(
        f"/emails/{filed.json['crm_email_id']}/conversation-links", json={"new_case": {"title": "Rollout"}}
    )
    assert answer.status_code == 200, answer.json
    assert [(link["mine"], link["made_by"]) for link in answer.json["links"]] == [(True, "Adele Vance")]
    return answer.json["created"]["case"]["id"]


def test_adele_linking_a_thread_neither_watches_nor_reads_megans_mailbox(pane, app, emulator, adele):
    megan = add_megan(app)
    wait_idle(app)
    with session_scope(app) as session:
        watched = [u.id for u in watched_users(session, CONTOSO)]
    emulator.clear_requests()

    case_id = adele_links_the_thread(pane, emulator)
    assert pane(ADELE).post(f"/cases/{case_id}/sharing-rules", json={"address": LYNNE}).status_code == 201
    wait_idle(app)

    with session_scope(app) as session:
        assert [u.id for u in watched_users(session, CONTOSO)] == watched
    assert jobs_of(app, megan, "delta") == 0 and jobs_of(app, megan, "subscriptions") == 0
    assert not megan_was_read(emulator)


def test_adeles_link_files_her_new_reply_and_nothing_of_megans_delivered_by_notification(pane, app, emulator, adele):
    megan = add_megan(app)
    case_id = adele_links_the_thread(pane, emulator)
    assert schedule_upkeep(app) == 2
    wait_for(lambda: len(subscriptions(app)) == 4, what="both mailboxes' subscriptions")
    wait_idle(app)

    # A reply Adele never received, then one she did.
    emulator.deliver(MEGAN, thread_message("RE: Thread: rollout plan (to Megan only)", MEGAN))
    emulator.deliver(ADELE, thread_message("RE: Thread: rollout plan (to Adele)", ADELE))

    wait_for(lambda: len(filed_on(app, "case", case_id)) == 2, what="Adele's reply on the case")
    wait_for(lambda: jobs_of(app, megan, "message", "done") >= 1, what="Megan's notification handled")
    wait_idle(app)
    assert filed_on(app, "case", case_id) == {
        "Thread: rollout plan": "conversation",
        "RE: Thread: rollout plan (to Adele)": "conversation",
    }
    untouched(app, emulator, MEGAN, megan, "RE: Thread: rollout plan (to Megan only)")


def test_adeles_link_and_rule_file_nothing_of_megans_found_by_a_delta_round(pane, app, emulator, adele):
    megan = add_megan(app)
    case_id = adele_links_the_thread(pane, emulator)
    assert pane(ADELE).post(f"/cases/{case_id}/sharing-rules", json={"address": LYNNE}).status_code == 201
    wait_idle(app)
    # No subscriptions: only the delta rounds see the new mail. The rule files mail that
    # arrives after it; Graph's times have whole seconds.
    later = (utcnow() + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    emulator.deliver(MEGAN, thread_message("RE: Thread: rollout plan (Megan, delta)", MEGAN, receivedDateTime=later))
    emulator.deliver(MEGAN, new_message(LYNNE, "Lynne writes to Megan", to=[MEGAN], receivedDateTime=later))
    emulator.deliver(ADELE, new_message(LYNNE, "Lynne writes to Adele", receivedDateTime=later))

    with session_scope(app) as session:
        for user in watched_users(session, CONTOSO):
            enqueue_catch_up(app, user)
    wait_for(lambda: jobs_of(app, megan, "delta", "done") == 1, what="Megan's delta round")
    wait_idle(app)

    assert emulator.requests(path=rf"/users/{MEGAN_OID}/mailFolders.*/messages/delta", method="GET")
    assert filed_on(app, "case", case_id) == {"Thread: rollout plan": "conversation", "Lynne writes to Adele": "rule"}
    untouched(app, emulator, MEGAN, megan, "RE: Thread: rollout plan (Megan, delta)")
    untouched(app, emulator, MEGAN, megan, "Lynne writes to Megan")


def test_a_sharing_rule_adele_made_files_nothing_of_megans(pane, app, emulator, adele):
    megan = add_megan(app)
    case_id = pane(ADELE).post("/cases", json={"title": "Northwind account"}).json["id"]
    assert pane(ADELE).post(f"/cases/{case_id}/sharing-rules", json={"address": LYNNE}).status_code == 201
    assert schedule_upkeep(app) == 2
    wait_for(lambda: len(subscriptions(app)) == 4, what="both mailboxes' subscriptions")
    wait_idle(app)

    emulator.deliver(MEGAN, new_message(LYNNE, "Rule? Lynne to Megan", to=[MEGAN]))
    emulator.deliver(ADELE, new_message(LYNNE, "Rule: Lynne to Adele"))

    wait_for(lambda: filed_on(app, "case", case_id), what="Adele's mail on the case")
    wait_for(lambda: jobs_of(app, megan, "message", "done") >= 1, what="Megan's notification handled")
    wait_idle(app)
    assert filed_on(app, "case", case_id) == {"Rule: Lynne to Adele": "rule"}
    untouched(app, emulator, MEGAN, megan, "Rule? Lynne to Megan")


def test_megans_own_link_files_megans_mail_on_her_record(pane, app, emulator, adele):
    megan = add_megan(app)
    adele_case = adele_links_the_thread(pane, emulator)
    emulator.deliver(MEGAN, thread_message("Thread: rollout plan (Megan's copy)", MEGAN))
    mine = find_message(emulator, MEGAN, "Thread: rollout plan (Megan's copy)")
    filed = pane(MEGAN).post(f"/messages/{mine['id']}/sync")
    assert filed.status_code == 200, filed.json
    linked = pane(MEGAN).post(
        f"/emails/{filed.json['crm_email_id']}/conversation-links", json={"new_case": {"title": "Megan's rollout"}}
    )
    assert linked.status_code == 200, linked.json
    megan_case = linked.json["created"]["case"]["id"]
    # Two links of one thread, each its maker's.
    assert [(link["target_id"], link["mine"]) for link in linked.json["links"]] == [
        (adele_case, False),
        (megan_case, True),
    ]
    assert schedule_upkeep(app) == 2
    wait_for(lambda: len(subscriptions(app)) == 4, what="both mailboxes' subscriptions")
    wait_idle(app)

    emulator.deliver(MEGAN, thread_message("RE: Thread: rollout plan (Megan's reply)", MEGAN))
    emulator.deliver(ADELE, thread_message("RE: Thread: rollout plan (Adele's reply)", ADELE))

    wait_for(lambda: "RE: Thread: rollout plan (Megan's reply)" in filed_on(app, "case", megan_case), what="Megan's")
    wait_for(lambda: "RE: Thread: rollout plan (Adele's reply)" in filed_on(app, "case", adele_case), what="Adele's")
    wait_idle(app)
    assert "RE: Thread: rollout plan (Adele's reply)" not in filed_on(app, "case", megan_case)
    assert "RE: Thread: rollout plan (Megan's reply)" not in filed_on(app, "case", adele_case)
    reply = find_message(emulator, MEGAN, "RE: Thread: rollout plan (Megan's reply)")
    assert outlook_state(emulator, MEGAN, reply["id"])["state"] == "synced"
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(MailboxItem).where(MailboxItem.user_id == megan)) == 2


def test_only_a_links_maker_stops_it(pane, app, emulator, adele):
    add_megan(app)
    adele_links_the_thread(pane, emulator)
    with session_scope(app) as session:
        link_id = session.scalar(select(ConversationLink.id))
    assert pane(MEGAN).delete(f"/conversation-links/{link_id}").status_code == 403
    assert pane(ADELE).delete(f"/conversation-links/{link_id}").status_code == 204


def test_every_standing_instruction_a_mailbox_gets_is_its_owners_own(app, emulator, adele):
    """The rule itself, for every source in rules.SOURCES: in a tenant full of everyone's
    rules and links on the same address and thread (and some nobody owns any more, or
    that one user made for another's mailbox), what a source answers for a mailbox was
    made by that mailbox's owner, and each owner's own instructions still apply."""
    megan = add_megan(app)
    with session_scope(app) as session:
        case = Case(tenant_id=CONTOSO, title="Everyone's")
        session.add(case)
        session.flush()
        earlier = utcnow() - timedelta(hours=1)
        for maker in (adele, megan, None):
            session.add(
                ConversationLink(
                    tenant_id=CONTOSO,
                    conversation_id=THREAD,
                    target_type="case",
                    target_id=case.id,
                    created_by_id=maker,
                )
            )
        other = "other@northwind.example"
        # (mailbox, maker, address): each owner's own; one Adele made for Megan's mailbox
        # (no route makes one; a new feature might); one whose maker is unknown.
        for owner, maker, address in (
            (adele, adele, LYNNE),
            (megan, megan, LYNNE),
            (megan, adele, other),
            (adele, None, other),
        ):
            session.add(
                SharingRule(
                    tenant_id=CONTOSO,
                    user_id=owner,
                    case_id=case.id,
                    address=address,
                    created_by_id=maker,
                    created_at=earlier,
                )
            )
        session.flush()
        message = thread_message("Everyone's thread", ADELE, receivedDateTime=utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
        addresses = [LYNNE, other]
        with app.app_context():
            for owner in (adele, megan):
                mailbox = app_only_mailbox(app, session, owner)
                for source in rules.SOURCES:
                    found = source(mailbox, message, addresses)
                    assert found, f"{source.__name__} found none of the owner's own"
                    assert {s.maker_id for s in found} == {owner}, source.__name__
                assert sorted(rules.extra_links(mailbox, message, addresses)) == [
                    ("case", case.id, "conversation"),
                    ("case", case.id, "rule"),
                ]
                decision = decide(mailbox, message, None, "off", [], {})
                assert decision.verdict == FILE
            # A mailbox whose owner made nothing gets nothing from anyone's.
            stranger = User(tenant_id=CONTOSO, oid="stranger-oid", upn="stranger@contoso.com", display_name="")
            session.add(stranger)
            session.flush()
            mailbox = app_only_mailbox(app, session, stranger.id)
            assert rules.standing(mailbox, message, addresses) == []
            assert decide(mailbox, message, None, "off", [], {}).verdict != FILE
