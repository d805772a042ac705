"""Sync this email, mark synced/unsynced: the pane's core actions, end to end over
the real auth and Graph code paths (emulator over HTTPS, real database)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from server.crm.models import Email, EmailLink, MailboxItem
from tests.support.arrange_contacts import seed_contoso
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.identities import ADELE, CONTOSO, MEGAN, PAT

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_open_shows_matched_contacts_and_companies(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)

    response = pane().get(f"/messages/{message['id']}")

    assert response.status_code == 200, response.json
    body = response.json
    assert body["state"] == "none" and body["crm_email_id"] is None and body["crm_url"] is None
    assert body["subject"] == NORTHWIND_ORDER
    lynne = next(p for p in body["people"] if p["address"] == "lynne.robbins@northwind.example")
    assert lynne["role"] == "from"
    names = sorted(c["name"] for c in lynne["contacts"])
    assert names == ["Lynne Robbins", "Orders Desk"]  # two contacts share the address
    assert {c["company"]["name"] for c in lynne["contacts"]} == {"Northwind Traders"}
    assert all(p["address"] != ADELE for p in body["people"])  # the user's own address is not a person


def test_sync_files_once_and_marks_outlook(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    user = pane()

    first = user.post(f"/messages/{message['id']}/sync")
    assert first.status_code == 200, first.json
    assert first.json["state"] == "synced"
    email_id = first.json["crm_email_id"]
    assert first.json["crm_url"].endswith(f"/crm/emails/{email_id}")

    seen = outlook_state(emulator, ADELE, message["id"])
    assert seen["state"] == "synced" and seen["email_id"] == str(email_id)
    assert "Synced to CRM" in seen["categories"]

    emulator.clear_requests()
    second = user.post(f"/messages/{message['id']}/sync")
    assert second.status_code == 200 and second.json["crm_email_id"] == email_id
    assert emulator.requests(method="PATCH") == []  # a repeat sync changes nothing
    assert count(crm, Email) == 1
    links = crm.scalars(select(EmailLink).where(EmailLink.email_id == email_id)).all()
    assert {(l.target_type, l.source) for l in links} == {("contact", "address"), ("company", "company")}
    assert len([l for l in links if l.target_type == "contact"]) == 2


def test_two_users_with_one_message_share_one_email(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    subject = "Hard case: same message in two mailboxes"
    for upn in (ADELE, MEGAN):
        message = find_message(emulator, upn, subject)
        assert pane(upn).post(f"/messages/{message['id']}/sync").status_code == 200
    assert count(crm, Email) == 1
    assert count(crm, MailboxItem) == 2


def test_parallel_syncs_of_one_message_give_one_email(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    user = pane()
    user.post(f"/messages/{message['id']}/state", json={"state": "unsynced"})  # warm caches
    statuses = []

    def sync():
        statuses.append(user.post(f"/messages/{message['id']}/sync").status_code)

    threads = [threading.Thread(target=sync) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 10
    assert count(crm, Email) == 1
    assert count(crm, MailboxItem) == 1
    assert count(crm, EmailLink, EmailLink.target_type == "contact") == 2


def test_mark_synced_and_unsynced_round_trip(pane, emulator, crm):
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    user = pane()

    synced = user.post(f"/messages/{message['id']}/state", json={"state": "synced"})
    assert synced.status_code == 200 and synced.json["state"] == "excluded"
    seen = outlook_state(emulator, ADELE, message["id"])
    assert seen["state"] == "excluded" and "Synced to CRM" in seen["categories"]
    assert user.get(f"/messages/{message['id']}").json["state"] == "excluded"

    unsynced = user.post(f"/messages/{message['id']}/state", json={"state": "unsynced"})
    assert unsynced.status_code == 200 and unsynced.json["state"] == "pending"
    seen = outlook_state(emulator, ADELE, message["id"])
    assert seen["state"] == "pending"
    assert "Sync to CRM" in seen["categories"] and "Synced to CRM" not in seen["categories"]
    assert user.get(f"/messages/{message['id']}").json["state"] == "pending"
    assert count(crm, Email) == 0  # marks never file anything


def test_patches_keep_the_users_own_categories(pane, emulator):
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    token = emulator.graph_token(ADELE)
    emulator.graph(
        "PATCH", f"/me/messages/{message['id']}", token, json={"categories": ["Red category"]}
    ).raise_for_status()
    assert pane().post(f"/messages/{message['id']}/sync").status_code == 200
    assert outlook_state(emulator, ADELE, message["id"])["categories"] == ["Red category", "Synced to CRM"]


def test_other_tenant_gets_404_for_a_message(pane, emulator):
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    response = pane(PAT).get(f"/messages/{message['id']}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "message_not_found"
    assert pane(PAT).post(f"/messages/{message['id']}/sync").status_code == 404


def test_malformed_input_gets_4xx_with_the_error_shape(pane, client):
    user = pane()
    cases = [
        user.get("/messages/not%20an%20id"),
        user.get("/messages/" + "A" * 2000),
        user.post("/messages/AAMkAGI2/state", json={"state": "maybe"}),
        user.post("/messages/AAMkAGI2/state", data="{not json", content_type="application/json"),
        user.post("/messages/batch-sync", json={"ids": []}),
        user.post("/messages/batch-sync", json={"ids": ["AAMk"] * 101}),
        user.post("/messages/batch-sync", json={"ids": "AAMk"}),
        user.post("/messages/batch-sync", data="x" * (2 * 1024 * 1024), content_type="application/json"),
        client.get("/api/v1/messages/AAMkAGI2"),  # no token
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.data[:200])
        error = response.json["error"]
        assert error["code"] and error["message"]


def test_unknown_message_is_404(pane):
    response = pane().get("/messages/AAMkAGI2TG93AAA=")
    assert response.status_code in (400, 404)
    assert response.json["error"]["code"] in ("message_not_found", "invalid_message_id")


def test_people_show_internationalised_domains_in_unicode_and_match_on_idna(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, "Hard case: IDN domains")

    people = pane().get(f"/messages/{message['id']}").json["people"]

    jan = next(p for p in people if p["role"] == "from")
    assert (jan["address"], jan["display_address"]) == ("jan@xn--bcher-kva.example", "jan@bücher.example")
    assert [c["name"] for c in jan["contacts"]] == ["Jan Novák"]  # matched on the normalised form
    shown = {p["display_address"] for p in people}
    assert {"jana@bücher.example", "zofia@łódź.example"} <= shown
    assert not any("xn--" in a for a in shown)
