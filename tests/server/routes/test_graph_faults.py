"""Graph throttling, outages and timeouts: retried within limits, then reported in
plain words; nothing half-written, nothing duplicated."""

from __future__ import annotations

from sqlalchemy import func, select

from server.crm.models import Email, MailboxItem
from tests.support.arrange_contacts import seed_contoso
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.identities import ADELE, CONTOSO

SUBJECT = "Plain: order confirmation from Northwind"


def emails(session):
    return session.scalar(select(func.count()).select_from(Email))


def test_throttled_once_then_synced_once_with_the_wait_honoured(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    user.get(f"/messages/{message['id']}")  # tokens and categories warm
    emulator.clear_requests()
    emulator.fault(path=r"/messages/[^/]+$", method="PATCH", kind="429", retry_after=1, count=1)

    response = user.post(f"/messages/{message['id']}/sync")

    assert response.status_code == 200, response.json
    patches = emulator.requests(path=r"/messages/", method="PATCH")
    assert [p["status"] for p in patches] == [429, 200]
    # Retry-After honoured: the emulator saw the retry no sooner than the second asked
    # (a lower bound, which a busy machine can only lengthen).
    assert patches[1]["ts"] - patches[0]["ts"] >= 0.95
    assert emails(crm) == 1
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"


def test_long_retry_after_is_handed_to_the_pane_not_waited_out(pane, emulator):
    message = find_message(emulator, ADELE, SUBJECT)
    emulator.clear_requests()
    emulator.fault(path=r"/messages/", kind="429", retry_after=120, count=5)
    response = pane().get(f"/messages/{message['id']}")
    # Not waited out: one request, answered 429 at once with Graph's wait for the pane.
    assert len(emulator.requests(path=r"/messages/")) == 1
    assert response.status_code == 429
    assert response.json["error"]["code"] == "graph_throttled"
    assert response.json["error"]["retry_after"] >= 100
    assert int(response.headers["Retry-After"]) >= 100


def test_persistent_503_reports_clearly_and_a_retry_completes(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    user.get(f"/messages/{message['id']}")
    emulator.fault(path=r"/messages/[^/]+$", method="PATCH", kind="503", seconds=60)

    failed = user.post(f"/messages/{message['id']}/sync")
    assert failed.status_code == 503
    assert failed.json["error"]["code"] == "graph_unavailable"
    assert "retry" in failed.json["error"]["message"].lower()
    assert outlook_state(emulator, ADELE, message["id"])["state"] is None  # not marked yet

    emulator.clear_faults()
    retried = user.post(f"/messages/{message['id']}/sync")
    assert retried.status_code == 200 and retried.json["state"] == "synced"
    assert emails(crm) == 1
    assert crm.scalar(select(func.count()).select_from(MailboxItem)) == 1
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"


def test_hanging_graph_ends_in_504(pane, emulator):
    message = find_message(emulator, ADELE, SUBJECT)
    emulator.fault(path=r"/messages/", kind="latency", latency_ms=12000, count=3)
    response = pane().get(f"/messages/{message['id']}")
    # The emulator answers normally once its 12 s are up, so a 504 means the server's
    # own read timeout ended the wait.
    assert response.status_code == 504
    assert response.json["error"]["code"] == "graph_timeout"


def test_marking_synced_a_message_filed_whose_mark_failed_keeps_it_filed(pane, emulator, crm):
    # Filed in the CRM, but Outlook's mark could not be written: the CRM's record says
    # filed, so "mark synced" keeps it synced (filed), never `excluded` (not to be filed).
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    emulator.fault(path=r"/messages/[^/]+$", method="PATCH", kind="503", seconds=60)
    assert user.post(f"/messages/{message['id']}/sync").status_code == 503
    emulator.clear_faults()
    assert outlook_state(emulator, ADELE, message["id"])["state"] is None

    marked = user.post(f"/messages/{message['id']}/state", json={"state": "synced"})
    assert marked.status_code == 200 and marked.json["state"] == "synced"
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"
    assert crm.scalar(select(MailboxItem.state)) == "synced" and emails(crm) == 1
