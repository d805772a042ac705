"""The sync functions under the default settings, nothing switched on first: the
category command works with automatic sync off (by notification, and by the delta
round when notifications do not flow), switching automatic sync on files what waits,
the message view says what the backend will do, and bulk sync files only mail with a
CRM contact on it, counting each reason it skipped one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from server.crm.models import Contact, Email, EmailLink, SyncJob, Tenant
from server.db import session_scope
from server.sync.delta import schedule_delta_round
from server.web.job_display import sync_summary
from tests.server.sync.test_categories_and_marks import categorise, delta_round, emails
from tests.server.sync.test_webhooks import message_jobs_done, subscriptions
from tests.support.arrange_contacts import seed_contoso
from tests.support.arrange_records import mark_pending_without_category
from tests.support.emulated_messages import find_message, new_message, outlook_state
from tests.support.identities import ADELE, CONTOSO
from tests.support.waiting import wait_for, wait_idle

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"
ALIAS_MESSAGE = "Plain: message to alias"


def opened(pane, app, emulator, subject: str = NORTHWIND_ORDER) -> dict:
    """The pane opened on a message under the defaults: the user gets subscribed."""
    message = find_message(emulator, ADELE, subject)
    view = pane().get(f"/messages/{message['id']}")
    assert view.status_code == 200, view.json
    assert view.json["auto_sync"] == "off"
    wait_for(lambda: len(subscriptions(app)) == 2, what="subscriptions made on first use")
    wait_idle(app)
    return message


def state(emulator, message_id: str) -> str | None:
    return outlook_state(emulator, ADELE, message_id)["state"]


# -- the category command under the defaults ------------------------------------------------


def test_sync_category_under_defaults_is_filed_from_its_notification(pane, app, emulator, adele):
    message = opened(pane, app, emulator)
    emulator.clear_requests()

    categorise(emulator, message["id"], "Blue category", "Sync to CRM")

    wait_for(lambda: state(emulator, message["id"]) == "synced", what="filed by the category command")
    after = outlook_state(emulator, ADELE, message["id"])
    assert after["categories"] == ["Blue category", "Synced to CRM"] and after["email_id"]
    assert emails(app) == 1
    assert not emulator.requests(path=r"/delta")  # the notification alone did it
    view = pane().get(f"/messages/{message['id']}").json
    assert (view["state"], view["filing_queued"], view["auto_sync"]) == ("synced", False, "off")


def test_sync_category_under_defaults_is_filed_by_the_delta_round_without_notifications(app, emulator, adele):
    # No pane open, no subscription: only the delta round (every add-in user gets one) sees it.
    delta_round(app)  # the first round: the folder's position
    delivered = emulator.deliver(ADELE, new_message("someone@fabrikam.example", "Defaults: categorised later"))
    categorise(emulator, delivered["id"], "Sync to CRM")
    assert subscriptions(app) == []

    assert schedule_delta_round(app) == 1
    wait_idle(app)

    assert state(emulator, delivered["id"]) == "synced"
    assert "Synced to CRM" in outlook_state(emulator, ADELE, delivered["id"])["categories"]
    assert emails(app) == 1


def test_dont_sync_category_under_defaults_marks_it_excluded(pane, app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    message = opened(pane, app, emulator)

    categorise(emulator, message["id"], "Don't sync to CRM")

    wait_for(lambda: state(emulator, message["id"]) == "excluded", what="excluded by the category command")
    wait_idle(app)
    assert emails(app) == 0
    view = pane().get(f"/messages/{message['id']}").json
    assert (view["state"], view["filing_queued"]) == ("excluded", False)


def test_automatic_sync_off_and_no_category_files_nothing(pane, app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)  # even mail from a CRM contact
    opened(pane, app, emulator)

    emulator.deliver(ADELE, new_message("lynne.robbins@northwind.example", "Defaults: from a contact"))
    wait_for(lambda: message_jobs_done(app), what="the notification's job")
    wait_idle(app)
    delta_round(app)

    delivered = find_message(emulator, ADELE, "Defaults: from a contact")
    assert state(emulator, delivered["id"]) is None
    assert emails(app) == 0


# -- automatic sync switched on; what the view says -------------------------------------------


def test_switching_automatic_sync_on_files_the_waiting_messages_at_once(pane, app, emulator, adele):
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    mark_pending_without_category(app, emulator, adele, message["id"])
    view = pane().get(f"/messages/{message['id']}").json
    assert (view["state"], view["auto_sync"], view["filing_queued"]) == ("pending", "off", False)
    wait_idle(app)
    assert state(emulator, message["id"]) == "pending"  # off: waits for a bulk sync

    response = pane().put("/settings/me", json={"auto_sync": "marked"})
    assert response.status_code == 200
    wait_idle(app)  # no delta round of the scheduler: the switch itself queued the round

    assert state(emulator, message["id"]) == "synced"
    view = pane().get(f"/messages/{message['id']}").json
    assert (view["state"], view["auto_sync"], view["filing_queued"]) == ("synced", "marked", False)


def test_the_view_says_whether_the_backend_files_it_without_another_click(pane, app, emulator, adele, monkeypatch):
    monkeypatch.setitem(app.config, "CATCH_UP_ON_OPEN", False)  # nothing files it meanwhile
    categorised = find_message(emulator, ADELE, "Hard case: categorised Sync to CRM")
    plain = find_message(emulator, ADELE, ALIAS_MESSAGE)
    pending = find_message(emulator, ADELE, NORTHWIND_ORDER)
    mark_pending_without_category(app, emulator, adele, pending["id"])

    def fields(message_id):
        view = pane().get(f"/messages/{message_id}").json
        return view["state"], view["auto_sync"], view["filing_queued"]

    assert fields(categorised["id"]) == ("none", "off", True)  # the category is a command
    assert fields(plain["id"]) == ("none", "off", False)
    assert fields(pending["id"]) == ("pending", "off", False)  # off: a bulk sync will file it
    marked = pane().post(f"/messages/{plain['id']}/state", json={"state": "unsynced"}).json
    assert (marked["state"], marked["filing_queued"]) == ("pending", True)  # it gets the category

    assert pane().put("/settings/me", json={"auto_sync": "known_contacts"}).status_code == 200
    monkeypatch.setitem(app.config, "CATCH_UP_ON_OPEN", False)
    wait_idle(app)
    view = pane().get(f"/messages/{categorised['id']}").json
    assert view["auto_sync"] == "known_contacts"
    # A person on the never-sync list keeps even a categorised message out.
    assert pane().put("/settings/me", json={"never_sync": ["tailspin.example"]}).status_code == 200
    wait_idle(app)
    view = pane().get(f"/messages/{categorised['id']}").json
    assert (view["state"], view["filing_queued"]) == ("none", False)
    spec = pane().client.get("/api/v1/openapi.json").json["components"]["schemas"]["Message"]["properties"]
    assert spec["filing_queued"]["type"] == "boolean"
    assert spec["auto_sync"]["enum"] == ["off", "marked", "known_contacts", "all"]


# -- bulk sync: only mail with a CRM contact, each reason counted ------------------------------


def run_cli_bulk(app, since: str = "2026-01-01") -> tuple[str, SyncJob]:
    result = app.test_cli_runner().invoke(
        args=["crm", "sync-mailbox", "--user", ADELE, "--folder", "inbox", "--since", since, "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    with session_scope(app) as session:
        job = session.scalars(select(SyncJob).where(SyncJob.kind == "bulk").order_by(SyncJob.id.desc())).first()
        session.expunge(job)
    return result.output, job


def test_bulk_sync_skips_internal_mail_and_newsletters_and_counts_each_reason(pane, app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    newsletter = emulator.deliver(ADELE, new_message("news@deals.example", "Newsletter: December deals"))
    internal = find_message(emulator, ADELE, "Plain: internal note from Megan")
    marked = find_message(emulator, ADELE, NORTHWIND_ORDER)
    filed = find_message(emulator, ADELE, ALIAS_MESSAGE)
    assert pane().post(f"/messages/{marked['id']}/state", json={"state": "synced"}).status_code == 200
    assert pane().post(f"/messages/{filed['id']}/sync").status_code == 200
    wait_idle(app)

    output, job = run_cli_bulk(app)

    # The inbox: 12 of the fixture's and the newsletter. Not filed: the newsletter, the
    # internal note and the message without a From address (no CRM contact on them).
    summary = job.cursor["summary"]
    assert {k: summary[k] for k in ("filed", "already_filed", "marked", "no_contact", "failed")} == {
        "filed": 8,
        "already_filed": 1,
        "marked": 1,
        "no_contact": 3,
        "failed": 0,
    }
    assert (job.state, job.done, job.total, job.failed) == ("done", 13, 13, 0)
    assert (
        "Filed 8, already filed 1, skipped because marked 1, skipped because no CRM contact 3, "
        "skipped for the never-sync list 0, skipped otherwise 0, failed 0." in output
    )
    progress = pane().get(f"/jobs/{job.id}").json
    assert progress["summary"] == summary and progress["done"] == 13
    shown = dict(sync_summary(job))
    assert shown["Filed"] == 8 and shown["Skipped: no CRM contact on it"] == 3 and shown["Already filed"] == 1
    for message_id in (newsletter["id"], internal["id"]):
        assert state(emulator, message_id) is None
    assert state(emulator, marked["id"]) == "excluded"
    assert emails(app) == 9  # the eight and the one synced from the pane


def test_create_unknown_senders_makes_the_external_senders_contact_and_files_on_it(app, emulator, crm, adele):
    tenant = crm.get(Tenant, CONTOSO)
    tenant.update_settings(create_unknown_senders=True, never_sync=["blocked.example"])
    crm.commit()
    delivered = {
        "new": emulator.deliver(
            ADELE,
            new_message("nora.nowak@newcustomer.example", "Unknown: a new customer writes"),
        ),
        "internal": emulator.deliver(ADELE, new_message("megan.bowen@contoso.com", "Unknown: internal")),
        "blocked": emulator.deliver(ADELE, new_message("someone@blocked.example", "Unknown: never sync")),
    }

    output, job = run_cli_bulk(app, since=datetime.now(UTC).date().isoformat())

    summary = job.cursor["summary"]
    assert (summary["filed"], summary["no_contact"], summary["never_sync"], summary["contacts_created"]) == (1, 1, 1, 1)
    assert "1 CRM contacts created for unknown senders" in output
    assert state(emulator, delivered["new"]["id"]) == "synced"
    assert state(emulator, delivered["internal"]["id"]) is None
    assert state(emulator, delivered["blocked"]["id"]) is None
    with session_scope(app) as session:
        contacts = session.scalars(select(Contact).where(Contact.tenant_id == CONTOSO)).all()
        assert [[e.address for e in c.emails] for c in contacts] == [["nora.nowak@newcustomer.example"]]
        assert "Nora" in contacts[0].display_name  # named as the message names the sender
        email = session.scalar(select(Email).where(Email.subject == "Unknown: a new customer writes"))
        links = session.scalars(select(EmailLink).where(EmailLink.email_id == email.id)).all()
        assert [(link.target_type, link.target_id) for link in links] == [("contact", contacts[0].id)]
        assert session.scalar(select(func.count()).select_from(Email)) == 1
