"""Open then Sync: one Graph read and one Graph write in all. The sync reuses the read
the pane's open made moments before, held for that user only (server/sync/recent_reads.py),
and marks the message with a conditional PATCH (If-Match: the read's etag), so a change
made in Outlook in between is read again and kept. Counts come from the emulator's log."""

from __future__ import annotations

import pytest

from server.crm.models import Email
from server.sync.recent_reads import reads_for
from tests.support.arrange_contacts import seed_contoso
from tests.support.backend import Pane
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.identities import ADELE, CONTOSO

SUBJECT = "Plain: order confirmation from Northwind"
MEGAN = "megan.bowen@contoso.com"
WARM_UP = {ADELE: "Hard case: attachments", MEGAN: "Plain: hello Megan"}


def graph_calls(emulator) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].startswith("/v1.0") and not r.get("in_batch")]


def shown_people(emulator, upn: str, message_id: str) -> str:
    """What the pane sends on open: the From/To/Cc addresses Office.js shows."""
    shown = emulator.graph(
        "GET",
        f"/me/messages/{message_id}",
        emulator.graph_token(upn),
        params={"$select": "from,toRecipients,ccRecipients"},
    ).json()
    entries = [shown.get("from")] + shown.get("toRecipients", []) + shown.get("ccRecipients", [])
    return ",".join(e["emailAddress"]["address"] for e in entries if e)


def warm(user: Pane, emulator) -> None:
    """Tokens, signing keys, master categories and the user's addresses, on another
    message, so the counts below are the operation's own."""
    other = find_message(emulator, user.upn, WARM_UP[user.upn])
    assert user.get(f"/messages/{other['id']}").status_code == 200
    assert user.post(f"/messages/{other['id']}/sync").status_code == 200
    emulator.clear_requests()


def open_message(user: Pane, emulator, message_id: str):
    """The pane's open, with its people; the emulator's log starts at the open (the
    test's own look at the people is not the pane's)."""
    people = shown_people(emulator, user.upn, message_id)
    emulator.clear_requests()
    return user.get(f"/messages/{message_id}", query_string={"people": people})


def add_category_in_outlook(emulator, upn: str, message_id: str, category: str) -> None:
    """The user sets a category in Outlook (Graph's PATCH, as any Outlook client does)."""
    token = emulator.graph_token(upn)
    now = emulator.graph("GET", f"/me/messages/{message_id}", token, params={"$select": "categories"}).json()
    changed = emulator.graph(
        "PATCH", f"/me/messages/{message_id}", token, json={"categories": [*now["categories"], category]}
    )
    assert changed.status_code == 200, changed.text


def test_open_then_sync_costs_one_read_and_one_write(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    warm(user, emulator)

    opened = open_message(user, emulator, message["id"])
    synced = user.post(f"/messages/{message['id']}/sync")

    assert opened.status_code == 200 and synced.status_code == 200, synced.json
    calls = graph_calls(emulator)
    assert [(c["method"], c["path"].split("/")[-2:][0] if c["method"] == "PATCH" else c["path"]) for c in calls] == [
        ("POST", "/v1.0/$batch"),  # the open: the message (with its body) and the people's contacts
        ("PATCH", "messages"),  # the sync: the mark, nothing read again
    ]
    assert [c["status"] for c in calls] == [200, 200]
    assert synced.json["state"] == "synced" and synced.json["crm_email_id"]
    # Filed from the open's read: the whole body, as a fresh read gives it.
    body = emulator.graph(
        "GET", f"/me/messages/{message['id']}", emulator.graph_token(ADELE), params={"$select": "body"}
    ).json()["body"]["content"]
    email = crm.get(Email, synced.json["crm_email_id"])
    assert body and body in (email.body_html or email.body_text)
    state = outlook_state(emulator, ADELE, message["id"])
    assert state["state"] == "synced" and state["email_id"] == str(synced.json["crm_email_id"])
    assert "Synced to CRM" in state["categories"]

    # The read was taken: a second Sync reads again (and, filed, writes nothing).
    emulator.clear_requests()
    assert user.post(f"/messages/{message['id']}/sync").status_code == 200
    assert [c["method"] for c in graph_calls(emulator)] == ["GET"]


def test_a_category_set_in_outlook_between_open_and_sync_is_kept(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    warm(user, emulator)
    assert open_message(user, emulator, message["id"]).status_code == 200
    add_category_in_outlook(emulator, ADELE, message["id"], "Red category")
    emulator.clear_requests()

    synced = user.post(f"/messages/{message['id']}/sync")

    assert synced.status_code == 200, synced.json
    calls = graph_calls(emulator)
    # The mark was conditional on the open's read: refused (412), read again, re-applied.
    assert [(c["method"], c["status"]) for c in calls] == [("PATCH", 412), ("GET", 200), ("PATCH", 200)]
    state = outlook_state(emulator, ADELE, message["id"])
    assert "Red category" in state["categories"] and "Synced to CRM" in state["categories"]
    assert state["state"] == "synced"
    assert "Red category" in synced.json["categories"] and "Synced to CRM" in synced.json["categories"]


def test_a_message_that_keeps_changing_is_filed_and_the_mark_refused_in_plain_words(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    warm(user, emulator)
    assert open_message(user, emulator, message["id"]).status_code == 200
    # Every conditional mark finds the message changed (another client writing it).
    emulator.fault(path=r"/messages/[^/]+$", method="PATCH", kind="412")
    filed_before = crm.query(Email).filter_by(tenant_id=CONTOSO).count()
    emulator.clear_requests()

    answer = user.post(f"/messages/{message['id']}/sync")

    emulator.clear_faults()
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "message_changed"
    calls = graph_calls(emulator)
    assert [c["method"] for c in calls] == ["PATCH", "GET", "PATCH", "GET", "PATCH"]  # bounded
    assert crm.query(Email).filter_by(tenant_id=CONTOSO).count() == filed_before + 1  # filed all the same
    # Sync again once it settles: it completes the mark.
    assert user.post(f"/messages/{message['id']}/sync").json["state"] == "synced"


def test_without_a_recent_open_the_sync_reads_as_before(pane, emulator, crm, make_app, clean_state):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    warm(user, emulator)
    # The open reached another process (no Redis): that process's read is not this one's.
    elsewhere = Pane(make_app().test_client(), emulator, ADELE)
    assert open_message(elsewhere, emulator, message["id"]).status_code == 200
    emulator.clear_requests()

    synced = user.post(f"/messages/{message['id']}/sync")

    assert synced.status_code == 200 and synced.json["state"] == "synced"
    assert [c["method"] for c in graph_calls(emulator)] == ["GET", "PATCH"]


def test_with_the_cache_off_every_sync_reads(emulator, crm, make_app, clean_state):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = Pane(make_app(MESSAGE_READ_CACHE_S=0).test_client(), emulator, ADELE)
    warm(user, emulator)
    assert open_message(user, emulator, message["id"]).status_code == 200
    emulator.clear_requests()

    assert user.post(f"/messages/{message['id']}/sync").status_code == 200
    assert [c["method"] for c in graph_calls(emulator)] == ["GET", "PATCH"]


def test_another_users_read_is_never_used(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    adele, megan = pane(ADELE), pane(MEGAN)
    warm(adele, emulator)
    warm(megan, emulator)
    assert open_message(adele, emulator, message["id"]).status_code == 200
    emulator.clear_requests()

    # Megan asks to sync Adele's message by its id: her own token reads her own mailbox.
    answer = megan.post(f"/messages/{message['id']}/sync")

    assert answer.status_code == 404 and answer.json["error"]["code"] == "message_not_found"
    assert [(c["method"], c["status"]) for c in graph_calls(emulator)] == [("GET", 404)]
    assert crm.query(Email).filter_by(tenant_id=CONTOSO, subject=SUBJECT).count() == 0
    assert outlook_state(emulator, ADELE, message["id"])["state"] is None
    # Adele's read is still hers to use.
    emulator.clear_requests()
    assert adele.post(f"/messages/{message['id']}/sync").status_code == 200
    assert [c["method"] for c in graph_calls(emulator)] == ["PATCH"]


@pytest.mark.redis
def test_with_redis_the_read_is_shared_by_every_web_process(emulator, crm, make_app, redis_url, clean_state):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    first, second = make_app(REDIS_URL=redis_url), make_app(REDIS_URL=redis_url)
    reads_for(first).clear()
    opener = Pane(first.test_client(), emulator, ADELE)
    syncer = Pane(second.test_client(), emulator, ADELE)
    warm(syncer, emulator)
    warm(opener, emulator)

    assert open_message(opener, emulator, message["id"]).status_code == 200
    # Another user on the other process finds nothing of Adele's there either.
    megan = Pane(second.test_client(), emulator, MEGAN)
    assert megan.post(f"/messages/{message['id']}/sync").status_code == 404
    emulator.clear_requests()
    synced = syncer.post(f"/messages/{message['id']}/sync")

    assert synced.status_code == 200 and synced.json["state"] == "synced"
    assert [c["method"] for c in graph_calls(emulator)] == ["PATCH"]
