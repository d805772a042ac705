"""The category command (right-click -> Categorize) and the marks, through webhooks,
delta rounds and bulk sync."""

from __future__ import annotations

from sqlalchemy import func, select

from server.crm.models import Email, MailboxItem, Subscription, SyncCursor, SyncJob
from server.db import session_scope
from server.sync.delta import schedule_delta_round
from tests.support.arrange_contacts import seed_contoso
from tests.support.arrange_records import set_settings
from tests.support.auto_sync import enable
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.identities import ADELE, CONTOSO
from tests.support.waiting import wait_for, wait_idle

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"
ALIAS_MESSAGE = "Plain: message to alias"


def categorise(emulator, message_id: str, *categories: str) -> None:
    """What Outlook's Categorize menu does: a PATCH of the categories, as the user."""
    response = emulator.graph(
        "PATCH", f"/me/messages/{message_id}", emulator.graph_token(ADELE), json={"categories": list(categories)}
    )
    assert response.status_code == 200, response.text


def emails(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(Email))


def delta_round(app) -> None:
    assert schedule_delta_round(app) >= 1
    wait_idle(app)
    with session_scope(app) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(SyncJob).where(SyncJob.kind == "delta", SyncJob.state == "done")
            )
            >= 1
        )


def test_categorising_sync_to_crm_files_it_and_shows_synced(pane, app, emulator, adele):
    enable(pane, app, "marked")
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)

    categorise(emulator, message["id"], "Blue category", "Sync to CRM")

    wait_for(lambda: outlook_state(emulator, ADELE, message["id"])["state"] == "synced", what="filed")
    state = outlook_state(emulator, ADELE, message["id"])
    assert state["categories"] == ["Blue category", "Synced to CRM"]
    assert state["email_id"] and emails(app) == 1


def test_dont_sync_category_marks_excluded_and_even_bulk_sync_skips_it(pane, app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    enable(pane, app, "known_contacts")
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)

    categorise(emulator, message["id"], "Don't sync to CRM")
    wait_for(lambda: outlook_state(emulator, ADELE, message["id"])["state"] == "excluded", what="excluded")

    response = pane().post("/bulk-sync", json={"folder": "inbox", "since": "2026-01-01"})
    assert response.status_code == 202, response.json
    job_id = response.json["job_id"]
    progress = wait_for(
        lambda: (lambda p: p if p["state"] in ("done", "failed") else None)(pane().get(f"/jobs/{job_id}").json),
        what="bulk job",
    )
    assert progress["state"] == "done" and progress["failed"] == 0
    assert progress["done"] == progress["total"] == 12  # the fixture's inbox

    state = outlook_state(emulator, ADELE, message["id"])
    assert state["state"] == "excluded" and not state["email_id"]
    assert "Synced to CRM" not in state["categories"]
    with session_scope(app) as session:
        item = session.scalar(select(MailboxItem).where(MailboxItem.graph_id == message["id"]))
        imid = session.scalar(select(Email.id).where(Email.subject == NORTHWIND_ORDER))
    assert imid is None
    assert item is None or item.state == "excluded"
    other = find_message(emulator, ADELE, ALIAS_MESSAGE)
    assert outlook_state(emulator, ADELE, other["id"])["state"] == "synced"


def test_message_marked_unsynced_is_filed_by_the_next_delta_round(pane, app, emulator, adele):
    set_settings(app, adele, auto_sync="marked")  # no subscriptions: only delta can file it
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    response = pane().post(f"/messages/{message['id']}/state", json={"state": "unsynced"})
    assert response.status_code == 200 and response.json["state"] == "pending"
    wait_idle(app)
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "pending"

    delta_round(app)

    state = outlook_state(emulator, ADELE, message["id"])
    assert state["state"] == "synced" and state["email_id"]
    assert state["categories"] == ["Synced to CRM"]
    assert pane().get(f"/messages/{message['id']}").json["state"] == "synced"
    # The next round changes nothing.
    delta_round(app)
    assert emails(app) == 1


def test_message_marked_synced_is_never_filed(pane, app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    set_settings(app, adele, auto_sync="known_contacts")
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    assert pane().post(f"/messages/{message['id']}/state", json={"state": "synced"}).status_code == 200

    delta_round(app)
    categorise(emulator, message["id"], "Synced to CRM", "Sync to CRM")  # even asked again by category
    delta_round(app)
    response = pane().post("/bulk-sync", json={"folder": "inbox", "since": "2026-01-01"})
    wait_for(lambda: pane().get(f"/jobs/{response.json['job_id']}").json["state"] == "done", what="bulk")

    state = outlook_state(emulator, ADELE, message["id"])
    assert state["state"] == "excluded" and not state["email_id"]
    with session_scope(app) as session:
        assert session.scalar(select(Email.id).where(Email.subject == NORTHWIND_ORDER)) is None


def test_never_sync_addresses_and_domains_are_skipped(pane, app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    response = pane().put("/settings/me", json={"auto_sync": "marked", "never_sync": ["northwind.example"]})
    assert response.status_code == 200
    assert response.json["never_sync"] == ["northwind.example"]
    assert response.json["tenant"]["auto_sync"] == "off"
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    categorise(emulator, message["id"], "Sync to CRM")
    wait_for(lambda: subscriptions_ready(app), what="subscriptions")
    wait_idle(app)
    delta_round(app)
    assert outlook_state(emulator, ADELE, message["id"])["state"] is None
    assert emails(app) == 0


def subscriptions_ready(app) -> bool:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(Subscription)) == 2


def test_settings_reject_unknown_modes(pane, adele):
    response = pane().put("/settings/me", json={"auto_sync": "everything"})
    assert response.status_code == 400
    assert pane().get("/settings/me").json["auto_sync"] == "off"


def test_expired_delta_token_restarts_the_folder_bounded_by_a_date(app, emulator, adele):
    set_settings(app, adele, auto_sync="marked")
    delta_round(app)
    with session_scope(app) as session:
        cursors = {c.folder: c.delta_link for c in session.scalars(select(SyncCursor))}
    assert set(cursors) == {"inbox", "sentitems"} and all("deltatoken" in link for link in cursors.values())

    emulator.reset()  # Graph forgets every sync state: the stored deltaLinks answer 410
    emulator.deliver(
        ADELE,
        {
            "subject": "Delta: categorised while we were away",
            "from": {"emailAddress": {"address": "someone@fabrikam.example"}},
            "categories": ["Sync to CRM"],
        },
    )
    emulator.clear_requests()
    delta_round(app)

    message = find_message(emulator, ADELE, "Delta: categorised while we were away")
    assert outlook_state(emulator, ADELE, message["id"])["state"] == "synced"
    gone = [r for r in emulator.requests(path=r"/messages/delta") if r["status"] == 410]
    restarted = [r for r in emulator.requests(path=r"/messages/delta") if "receivedDateTime" in (r["query"] or "")]
    assert len(gone) == 2 and len(restarted) == 2  # each folder started over, from a date
    # The fixture's older mail was not re-filed by the restart.
    assert emails(app) == 1
