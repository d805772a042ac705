"""Change notifications: the handshake, clientState, and filing within one notification."""

from __future__ import annotations

from sqlalchemy import func, select

from server.crm.models import Email, EmailLink, SyncJob
from server.db import session_scope
from tests.support.arrange_contacts import add_contact
from tests.support.auto_sync import enable, subscriptions
from tests.support.emulated_messages import find_message, new_message, outlook_state
from tests.support.identities import ADELE, CONTOSO
from tests.support.waiting import wait_for, wait_idle

HOSTILE_TOKEN = '<script>alert("x")</script> Validation: Testing client application reachability'


def message_jobs_done(app) -> bool:
    with session_scope(app) as session:
        return bool(
            session.scalar(
                select(func.count()).select_from(SyncJob).where(SyncJob.kind == "message", SyncJob.state == "done")
            )
        )


def test_validation_handshake_echoes_the_token_as_plain_text(app, client):
    for path in ("/api/v1/notifications", "/api/v1/notifications/lifecycle"):
        response = client.post(
            path, query_string={"validationToken": HOSTILE_TOKEN}, headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 200
        assert response.get_data(as_text=True) == HOSTILE_TOKEN
        assert response.mimetype == "text/plain"  # never text/html: the token is reflected input
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_enabling_automatic_sync_subscribes_inbox_and_sent_items(pane, app, emulator, adele):
    rows = enable(pane, app)

    assert [r.folder for r in rows] == ["inbox", "sentitems"]
    graph_side = emulator.admin("GET", "subscriptions").json()["subscriptions"]
    assert {s["id"] for s in graph_side} == {r.subscription_id for r in rows}
    for sub in graph_side:
        assert sub["lifecycleNotificationUrl"].endswith("/api/v1/notifications/lifecycle")
        # Stored hashed: the secret Graph holds is not in the database.
        assert sub["clientState"] not in {r.client_state_hash for r in rows}
        assert len(sub["clientState"]) >= 32

    # Switched off, the mailbox stays watched: the category command ("Sync to CRM" put
    # on a message) works whatever the automatic-sync setting.
    response = pane().put("/settings/me", json={"auto_sync": "off"})
    assert response.status_code == 200
    wait_idle(app)
    assert [(r.folder, r.subscription_id) for r in subscriptions(app)] == [(r.folder, r.subscription_id) for r in rows]
    assert {s["id"] for s in emulator.admin("GET", "subscriptions").json()["subscriptions"]} == {
        r.subscription_id for r in rows
    }


def test_wrong_client_state_is_refused_with_nothing_queued(pane, app, client, emulator, adele):
    row = enable(pane, app)[0]
    wait_idle(app)
    with session_scope(app) as session:
        jobs_before = session.scalar(select(func.count()).select_from(SyncJob))
    note = {
        "subscriptionId": row.subscription_id,
        "clientState": "guessed",
        "changeType": "created",
        "resource": "Users/x/Messages/y",
        "resourceData": {"id": "AAMkAGI2"},
        "tenantId": CONTOSO,
    }

    for body in (
        {"value": [note]},
        {"value": [{**note, "subscriptionId": "unknown"}]},
        {"value": [{**note, "clientState": None}]},
        {"value": "not a list"},
    ):
        response = client.post("/api/v1/notifications", json=body)
        assert response.status_code in (400, 403)
        if isinstance(body["value"], list):
            response = client.post(
                "/api/v1/notifications/lifecycle", json={"value": [{**body["value"][0], "lifecycleEvent": "missed"}]}
            )
            assert response.status_code == 403

    secret = next(
        s["clientState"]
        for s in emulator.admin("GET", "subscriptions").json()["subscriptions"]
        if s["id"] == row.subscription_id
    )
    response = client.post(
        "/api/v1/notifications",
        json={"value": [{**note, "clientState": secret, "tenantId": "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"}]},
    )
    assert response.status_code == 403  # the right secret, claimed for another tenant

    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(SyncJob)) == jobs_before
    response = client.post("/api/v1/notifications", json={"value": [{**note, "clientState": secret}]})
    assert response.status_code == 202


def test_new_message_from_a_known_contact_is_filed_within_one_notification(pane, app, emulator, crm, adele):
    add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example", company="Northwind Traders")
    enable(pane, app)
    wait_idle(app)
    emulator.clear_requests()

    delivered = emulator.deliver(ADELE, new_message("lynne.robbins@northwind.example", "Webhook: new order"))

    message = find_message(emulator, ADELE, "Webhook: new order")
    wait_for(lambda: outlook_state(emulator, ADELE, message["id"])["state"] == "synced", what="message filed")
    state = outlook_state(emulator, ADELE, message["id"])
    assert "Synced to CRM" in state["categories"]
    with session_scope(app) as session:
        email = session.scalar(select(Email).where(Email.internet_message_id == delivered["internetMessageId"]))
        assert email is not None and str(email.id) == state["email_id"]
        targets = {
            (link.target_type, link.source)
            for link in session.scalars(select(EmailLink).where(EmailLink.email_id == email.id))
        }
        assert ("contact", "address") in targets and ("company", "company") in targets
    # Filed from the notification alone: no delta round was needed.
    assert not emulator.requests(path=r"/delta")


def test_message_from_a_stranger_is_not_filed(pane, app, emulator, adele):
    enable(pane, app)
    emulator.deliver(ADELE, new_message("someone@elsewhere.example", "Webhook: stranger"))
    wait_for(lambda: message_jobs_done(app), what="the notification's job")
    wait_idle(app)
    message = find_message(emulator, ADELE, "Webhook: stranger")
    assert outlook_state(emulator, ADELE, message["id"])["state"] is None
