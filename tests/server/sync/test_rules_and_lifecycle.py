"""Sharing rules, linked conversations and lifecycle events."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import (
    Case,
    ConversationLink,
    Email,
    EmailLink,
    SharingRule,
    Subscription,
    SyncJob,
    User,
)
from server.crm.tenants import get_or_create_tenant
from server.db import session_scope
from server.sync.delta import request_catch_up
from server.sync.subscriptions import schedule_upkeep
from tests.support.arrange_records import mark_pending_without_category, set_settings
from tests.support.auto_sync import enable, subscriptions
from tests.support.emulated_messages import find_message, new_message, outlook_state
from tests.support.identities import ADELE, CONTOSO
from tests.support.waiting import wait_for, wait_idle

LYNNE = "lynne.robbins@northwind.example"
NORTHWIND_ORDER = "Plain: order confirmation from Northwind"


def add_case(app, title: str) -> int:
    with session_scope(app) as session:
        get_or_create_tenant(session, CONTOSO)
        case = Case(tenant_id=CONTOSO, title=title)
        session.add(case)
        session.flush()
        return case.id


def case_links(app, case_id: int) -> dict[str, str]:
    """subject -> link source of the emails filed on the case."""
    with session_scope(app) as session:
        rows = session.execute(
            select(Email.subject, EmailLink.source)
            .join(EmailLink, EmailLink.email_id == Email.id)
            .where(EmailLink.target_type == "case", EmailLink.target_id == case_id)
        ).all()
    return dict(rows)


def test_sharing_rule_files_new_mail_both_ways_and_leaves_older_mail_alone(app, emulator, adele):
    case_id = add_case(app, "Northwind rollout")
    with session_scope(app) as session:
        session.add(SharingRule(tenant_id=CONTOSO, user_id=adele, case_id=case_id, address=LYNNE, created_by_id=adele))
    # The rule alone (automatic sync is off) makes the mailbox watched.
    assert schedule_upkeep(app) == 1
    wait_for(lambda: len(subscriptions(app)) == 2, what="subscriptions")
    wait_idle(app)

    emulator.deliver(ADELE, new_message(LYNNE, "Rule: incoming from Lynne"))
    emulator.deliver(ADELE, new_message(ADELE, "Rule: outgoing to Lynne", to=[LYNNE]), folder="sentitems")
    emulator.deliver(ADELE, new_message("other@northwind.example", "Rule: someone else"))

    wait_for(lambda: len(case_links(app, case_id)) == 2, what="both filed on the case")
    wait_idle(app)
    assert case_links(app, case_id) == {"Rule: incoming from Lynne": "rule", "Rule: outgoing to Lynne": "rule"}
    sent = find_message(emulator, ADELE, "Rule: outgoing to Lynne", folder="sentitems")
    assert outlook_state(emulator, ADELE, sent["id"])["state"] == "synced"

    # Mail from Lynne that was there before the rule: not filed, even when it changes.
    old = find_message(emulator, ADELE, NORTHWIND_ORDER)
    response = emulator.graph("PATCH", f"/me/messages/{old['id']}", emulator.graph_token(ADELE), json={"isRead": True})
    assert response.status_code == 200
    wait_idle(app)
    assert outlook_state(emulator, ADELE, old["id"])["state"] is None
    with session_scope(app) as session:
        assert session.scalar(select(Email.id).where(Email.subject == NORTHWIND_ORDER)) is None
        assert session.scalar(select(Email.id).where(Email.subject == "Rule: someone else")) is None


def test_linked_conversation_picks_up_a_new_reply(pane, app, emulator, adele):
    case_id = add_case(app, "Order 1234")
    original = find_message(emulator, ADELE, NORTHWIND_ORDER)
    token = emulator.graph_token(ADELE)
    conversation = emulator.graph(
        "GET", f"/me/messages/{original['id']}", token, params={"$select": "conversationId"}
    ).json()["conversationId"]
    with session_scope(app) as session:
        session.add(
            ConversationLink(
                tenant_id=CONTOSO,
                conversation_id=conversation,
                target_type="case",
                target_id=case_id,
                created_by_id=adele,
            )
        )
    schedule_upkeep(app)
    wait_for(lambda: len(subscriptions(app)) == 2, what="subscriptions")
    wait_idle(app)

    emulator.deliver(
        ADELE, new_message("someone@northwind.example", "RE: " + NORTHWIND_ORDER, conversationId=conversation)
    )

    wait_for(lambda: case_links(app, case_id), what="the reply on the case")
    assert case_links(app, case_id) == {"RE: " + NORTHWIND_ORDER: "conversation"}
    reply = find_message(emulator, ADELE, "RE: " + NORTHWIND_ORDER)
    wait_for(lambda: outlook_state(emulator, ADELE, reply["id"])["state"] == "synced", what="marked")


def message_job_done(app) -> bool:
    with session_scope(app) as session:
        return session.scalar(select(SyncJob.id).where(SyncJob.kind == "message", SyncJob.state == "done")) is not None


def test_missed_lifecycle_event_runs_a_delta_catch_up(pane, app, emulator, adele):
    rows = enable(pane, app, "marked")
    wait_idle(app)
    inbox = next(r for r in rows if r.folder == "inbox")
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    # Waiting as pending (marked unsynced by another client, without our "Sync to CRM"
    # category, which is a command in every mode) while automatic sync was off, and the
    # notifications since were lost: only a catch-up sees it.
    set_settings(app, adele, auto_sync="off")
    mark_pending_without_category(app, emulator, adele, message["id"])
    wait_for(lambda: message_job_done(app), what="the mark's notification, handled with automatic sync off")
    wait_idle(app)
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "pending"
    set_settings(app, adele, auto_sync="marked")
    emulator.clear_requests()

    emulator.admin("POST", "lifecycle", json={"subscription_id": inbox.subscription_id, "event": "missed"})

    wait_for(lambda: outlook_state(emulator, ADELE, message["id"])["state"] == "synced", what="caught up")
    assert emulator.requests(path=r"/mailFolders.*/messages/delta", method="GET")


def test_reauthorization_required_renews_and_removed_recreates(pane, app, emulator, adele):
    rows = enable(pane, app, "marked")
    wait_idle(app)
    inbox = next(r for r in rows if r.folder == "inbox")
    emulator.clear_requests()

    emulator.admin(
        "POST", "lifecycle", json={"subscription_id": inbox.subscription_id, "event": "reauthorizationRequired"}
    )
    wait_for(lambda: emulator.requests(path=rf"/subscriptions/{inbox.subscription_id}", method="PATCH"), what="renewal")
    wait_idle(app)
    renewed = next(r for r in subscriptions(app) if r.folder == "inbox")
    assert renewed.subscription_id == inbox.subscription_id and renewed.expires_at >= inbox.expires_at

    emulator.admin("POST", "lifecycle", json={"subscription_id": inbox.subscription_id, "event": "subscriptionRemoved"})
    wait_for(
        lambda: any(r.folder == "inbox" and r.subscription_id != inbox.subscription_id for r in subscriptions(app)),
        what="recreated",
    )
    live = {s["id"] for s in emulator.admin("GET", "subscriptions").json()["subscriptions"]}
    assert {r.subscription_id for r in subscriptions(app)} == live


def test_pane_open_requests_a_catch_up_at_most_once_a_minute(pane, app, emulator, adele):
    set_settings(app, adele, auto_sync="marked")
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    emulator.clear_requests()

    assert pane().get(f"/messages/{message['id']}").status_code == 200
    assert pane().get(f"/messages/{message['id']}").status_code == 200

    wait_idle(app)
    # One catch-up: a delta round over each folder, whatever the number of opens.
    assert (
        len(emulator.requests(path=r"/mailFolders\('?inbox'?\)/messages/delta|inbox/messages/delta", method="GET")) == 1
    )
    with session_scope(app) as session, app.app_context():
        assert request_catch_up(session.get(User, adele)) is False


def test_subscription_rows_never_hold_the_secret(pane, app, emulator, adele):
    enable(pane, app, "marked")
    secrets_ = {s["clientState"] for s in emulator.admin("GET", "subscriptions").json()["subscriptions"]}
    with session_scope(app) as session:
        for row in session.scalars(select(Subscription)):
            assert row.client_state_hash not in secrets_ and len(row.client_state_hash) == 64
