"""Subscriptions and webhooks on the emulated Graph, against a local HTTP receiver."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulator.store import Store
from emulator.store.clock import utcnow
from emulator.store.model import Subscription
from tests.support.emulated_graph import IMMUTABLE, WebhookReceiver, assert_graph_error
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, MEGAN

SUBSCRIPTION_FIELDS = {
    "@odata.context",
    "id",
    "resource",
    "applicationId",
    "changeType",
    "clientState",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "expirationDateTime",
    "creatorId",
    "includeResourceData",
    "latestSupportedTlsVersion",
    "encryptionCertificate",
    "encryptionCertificateId",
    "notificationUrlAppId",
    "notificationQueryOptions",
}


def in_minutes(n: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def subscribe(graph, receiver, resource="me/mailFolders('Inbox')/messages", headers=None, **extra):
    body = {
        "changeType": "created,updated",
        "notificationUrl": receiver.url + "/api/v1/notifications",
        "lifecycleNotificationUrl": receiver.url + "/api/v1/notifications/lifecycle",
        "resource": resource,
        "expirationDateTime": in_minutes(60),
        "clientState": "secret-1",
        **extra,
    }
    return graph.post("/subscriptions", json=body, headers=headers or {})


def test_create_runs_the_handshake_and_answers_the_subscription(adele, receiver):
    r = subscribe(adele, receiver)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert set(sub) == SUBSCRIPTION_FIELDS
    assert sub["changeType"] == "created,updated" and sub["clientState"] == "secret-1"
    assert sub["creatorId"] == ADELE_OID
    assert len(receiver.validations) == 2  # notificationUrl and lifecycleNotificationUrl
    listed = adele.get("/subscriptions").json()["value"]
    assert [s["id"] for s in listed] == [sub["id"]]


def test_new_and_updated_messages_in_the_watched_folder_are_notified(emulator, adele, receiver):
    sub = subscribe(adele, receiver).json()
    delivered = emulator.deliver(ADELE, {"subject": "Webhook: new mail"})
    notes = receiver.wait_for(lambda n: n["changeType"] == "created")
    assert notes, "no created notification"
    note = notes[0]
    assert note["subscriptionId"] == sub["id"] and note["clientState"] == "secret-1"
    assert note["tenantId"] == CONTOSO and note["_path"] == "/api/v1/notifications"
    assert note["resourceData"]["id"] == delivered["id"]
    assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Message"
    assert note["resource"] == f"Users/{ADELE_OID}/Messages/{delivered['id']}"
    assert note["subscriptionExpirationDateTime"]

    adele.patch(f"/me/messages/{delivered['id']}", json={"categories": ["Sync to CRM"]})
    assert receiver.wait_for(lambda n: n["changeType"] == "updated" and n["resourceData"]["id"] == delivered["id"])


def test_changes_outside_the_watched_folder_or_mailbox_are_not_notified(emulator, adele, receiver):
    subscribe(adele, receiver)
    emulator.deliver(ADELE, {"subject": "Webhook: sent"}, folder="sentitems")
    emulator.deliver(MEGAN, {"subject": "Webhook: Megan's"})
    emulator.deliver(ADELE, {"subject": "Webhook: marker"})
    notes = receiver.wait_for(lambda n: n["changeType"] == "created")
    assert len(receiver.received()) == 1 and notes


def test_app_only_subscription_with_immutable_ids(emulator, contoso_app, receiver):
    r = subscribe(contoso_app, receiver, resource=f"users/{ADELE}/mailFolders('inbox')/messages", headers=IMMUTABLE)
    assert r.status_code == 201, r.text
    emulator.deliver(ADELE, {"subject": "Webhook: immutable"})
    note = receiver.wait_for(lambda n: n["changeType"] == "created")[0]
    assert note["resourceData"]["id"].startswith("AAkAL")
    got = contoso_app.get(f"/users/{ADELE}/messages/{note['resourceData']['id']}", params={"$select": "subject"})
    assert got.json()["subject"] == "Webhook: immutable"


def test_failed_handshake_refuses_the_subscription(adele):
    refusing = WebhookReceiver(validate=False)
    try:
        r = subscribe(adele, refusing)
        error = assert_graph_error(r, 400, "ValidationError")
        assert error["message"].startswith("Subscription validation request failed.")
    finally:
        refusing.close()
    as_html = WebhookReceiver(content_type="text/html")  # an echo rendered as HTML is refused
    try:
        assert_graph_error(subscribe(adele, as_html), 400, "ValidationError")
    finally:
        as_html.close()
    r = subscribe(adele, type("Nowhere", (), {"url": "http://127.0.0.1:9"})())
    assert_graph_error(r, 400, "ValidationError")
    assert adele.get("/subscriptions").json()["value"] == []


def test_invalid_requests_are_400(adele, receiver):
    assert_graph_error(subscribe(adele, receiver, expirationDateTime=in_minutes(5000)), 400)
    assert_graph_error(subscribe(adele, receiver, expirationDateTime=in_minutes(-5)), 400)
    assert_graph_error(subscribe(adele, receiver, changeType="exploded"), 400)
    assert_graph_error(subscribe(adele, receiver, resource="me/events"), 400)
    assert_graph_error(subscribe(adele, receiver, notificationUrl="http://backend.example/hook"), 400)
    assert_graph_error(subscribe(adele, receiver, resource=f"users/{MEGAN}/messages"), 403, "ErrorAccessDenied")


def test_renew_and_delete(adele, megan, receiver):
    sub = subscribe(adele, receiver).json()
    r = adele.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": in_minutes(4000)})
    assert r.status_code == 200 and r.json()["expirationDateTime"] > sub["expirationDateTime"]
    assert_graph_error(adele.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": in_minutes(9000)}), 400)
    assert_graph_error(megan.get(f"/subscriptions/{sub['id']}"), 404)
    assert adele.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 204
    assert adele.delete(f"/subscriptions/{sub['id']}").status_code == 204
    assert_graph_error(adele.get(f"/subscriptions/{sub['id']}"), 404)


def test_reset_drops_subscriptions(emulator, adele, receiver):
    subscribe(adele, receiver)
    emulator.reset()
    assert adele.get("/subscriptions").json()["value"] == []


@pytest.mark.parametrize("event", ["reauthorizationRequired", "missed", "subscriptionRemoved"])
def test_lifecycle_events_reach_the_lifecycle_url(event, receiver):
    # fire_lifecycle is a store method the admin API calls; exercised here in-process.
    store = Store.from_file(Path(__file__).resolve().parents[2] / "emulator" / "fixtures" / "test.json")
    sub = Subscription(
        id="sub-1",
        resource="me/messages",
        change_types=["created"],
        notification_url=receiver.url + "/hook",
        lifecycle_url=receiver.url + "/lifecycle",
        client_state="s",
        expiration=utcnow() + timedelta(hours=1),
        client_id="app",
        tid=CONTOSO,
        creator_oid=ADELE_OID,
        mailbox_oid=ADELE_OID,
        folder_id=None,
        immutable_ids=False,
    )
    store.add_subscription(sub)
    store.fire_lifecycle("sub-1", event)
    note = receiver.wait_for(lambda n: n.get("lifecycleEvent") == event)[0]
    assert note["_path"] == "/lifecycle" and note["subscriptionId"] == "sub-1" and note["clientState"] == "s"
    assert note["tenantId"] == CONTOSO and note["subscriptionExpirationDateTime"]
    assert ("sub-1" in store.subscriptions) == (event != "subscriptionRemoved")
    with pytest.raises(ValueError):
        store.fire_lifecycle("sub-1", "exploded")
