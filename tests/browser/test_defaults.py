"""Every core function of the Outlook-like page under the defaults of `make run`, the way a
new user meets them: nothing switched on first (automatic sync off, no tenant or user
setting saved, the backend's declared defaults). Each test clicks one function in the
real pane and checks three things: what the pane shows, what lands in the CRM (its
database, or its pages in the same browser), and what Outlook holds (the message's
categories and extended properties, the Outlook contact, read through the emulator's Graph).

The right-click category commands under the defaults are in test_defaults_category.py."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from server.config import declared_default
from server.crm.models import Company, Contact, ContactEmail, Email, MailboxItem, OutlookContactLink, Tenant, User
from server.db import session_scope
from tests.support.emulated_contacts import contacts_with, outlook_contact
from tests.support.emulated_messages import find_message, new_message
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.outlook_page import (
    graph_message,
    person_row,
    sign_in_to_crm_pages,
)
from tests.support.pane_page import expect_state

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

NORTHWIND = "Plain: order confirmation from Northwind"  # Lynne Robbins: CRM contacts Lynne Robbins and Orders Desk
ATTACHMENTS = "Hard case: attachments"  # Diego Siciliani (Tailspin Toys), in the CRM
ALIAS = "Plain: message to alias"  # Diego Siciliani
MIXED_CASE = "Hard case: mixed-case addresses"  # Diego Siciliani
LYNNE = "lynne.robbins@northwind.example"  # in Adele's Outlook contacts, not linked to the CRM
HENRIK = "henrik.larsen@fjord.example"  # in neither the CRM nor Adele's Outlook contacts
FJORD_QUOTE = "Quote for the Oslo office"


# ------------------------------------------------------------------ the defaults


@pytest.fixture
def defaults(outlook, crm_app):
    """The page on a backend with the declared defaults, and no setting saved by anyone,
    before the test and still after it (nothing in a flow may switch one on)."""
    for name in ("AUTO_LINK_COMPANIES", "REDIS_URL", "RATE_LIMIT", "DELTA_INTERVAL_S"):
        assert crm_app.config[name] == declared_default(name), name
    assert saved_settings(crm_app) == []
    yield outlook
    assert saved_settings(crm_app) == [], "a flow switched a setting on"


def saved_settings(app) -> list:
    with session_scope(app) as session:
        tenants = [(t.id, t.settings) for t in session.scalars(select(Tenant)) if t.settings]
        users = [(u.upn, u.settings) for u in session.scalars(select(User)) if u.settings]
    return tenants + users


# ------------------------------------------------------------------ the CRM's side


def adele_item(outlook, subject: str) -> dict | None:
    """Adele's MailboxItem for a message: its state and the filed Email, if any. The
    backend keys it by the message's immutable id."""
    graph_id = find_message(outlook.emulator, ADELE, subject, immutable=True)["id"]
    with session_scope(outlook.backend.app) as session:
        item = session.scalar(
            select(MailboxItem)
            .join(User, MailboxItem.user_id == User.id)
            .where(User.tenant_id == CONTOSO, User.oid == ADELE_OID, MailboxItem.graph_id == graph_id)
        )
        if item is None:
            return None
        return {"state": item.state, "email_id": item.email_id}


def filed_email(app, email_id) -> dict:
    """The CRM's Email: its subject and what it is linked to, by name."""
    with session_scope(app) as session:
        email = session.get(Email, int(email_id))
        assert email is not None, f"no CRM email {email_id}"
        linked = set()
        for link in email.links:
            if link.target_type == "contact":
                linked.add(("contact", session.get(Contact, link.target_id).display_name))
            elif link.target_type == "company":
                linked.add(("company", session.get(Company, link.target_id).name))
            else:
                linked.add((link.target_type, link.target_id))
        return {"subject": email.subject, "linked": linked}


def crm_contact(app, address: str) -> dict | None:
    """The CRM contact with this address, its fields and its Outlook links."""
    with session_scope(app) as session:
        contact = session.scalar(
            select(Contact)
            .join(ContactEmail, ContactEmail.contact_id == Contact.id)
            .where(Contact.tenant_id == CONTOSO, ContactEmail.address == address)
            .order_by(Contact.id)
        )
        if contact is None:
            return None
        links = session.scalars(select(OutlookContactLink).where(OutlookContactLink.contact_id == contact.id))
        return {
            "id": contact.id,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "display_name": contact.display_name,
            "company": contact.company.name if contact.company else None,
            "business_phone": contact.business_phone,
            "outlook_links": [link.outlook_contact_id for link in links],
        }


def crm_contact_by_id(app, contact_id: int) -> dict:
    with session_scope(app) as session:
        contact = session.get(Contact, contact_id)
        return {
            "display_name": contact.display_name,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "company": contact.company.name if contact.company else None,
            "business_phone": contact.business_phone,
            "links": [
                link.outlook_contact_id
                for link in session.scalars(
                    select(OutlookContactLink).where(OutlookContactLink.contact_id == contact_id)
                )
            ],
        }


def immutable_contact_id(emulator, contact_id: str) -> str:
    """The Outlook contact's immutable id, the one the CRM's link keeps."""
    token = emulator.graph_token(ADELE)
    response = emulator.graph(
        "GET", f"/me/contacts/{contact_id}", token, headers={"Prefer": 'IdType="ImmutableId"'}, params={"$select": "id"}
    )
    response.raise_for_status()
    return response.json()["id"]


def opened_urls(outlook) -> list[str]:
    return outlook.page.evaluate("() => window.outlookPage.openedUrls")


def open_crm_window(outlook, click):
    """Does `click` and returns the browser window it opened (the pane opens CRM pages in
    a new window, as Outlook does) once loaded, and every answer the browser got loading
    it again. The browser is signed in to the CRM pages first, as the user would be."""
    sign_in_to_crm_pages(outlook.context, outlook.backend.app, outlook.backend.url)
    with outlook.context.expect_page() as opened:
        click()
    tab = opened.value
    tab.wait_for_load_state("networkidle")
    answers = []
    tab.on("response", lambda r: answers.append((r.status, r.url)))
    tab.reload()
    tab.wait_for_load_state("networkidle")
    return tab, answers


def assert_loaded_cleanly(tab, answers):
    """Nothing the page loaded failed, and its icon is there (headless Chromium does not
    fetch icons itself, so the test fetches the one the page links)."""
    assert [a for a in answers if a[0] >= 400] == [], answers
    icon = tab.request.get(tab.eval_on_selector("link[rel=icon]", "link => link.href"))
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/")


# ------------------------------------------------------------------ message functions


def test_open_in_crm_files_the_email_and_opens_its_crm_page(defaults):
    outlook = defaults
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    message_id = outlook.message_id(NORTHWIND)

    tab, answers = open_crm_window(outlook, lambda: outlook.action("#btn-open"))
    expect_state(outlook, "Synced")

    stored = graph_message(outlook.emulator, ADELE, message_id)
    assert stored["crm_state"] == "synced" and "Synced to CRM" in stored["categories"]
    assert opened_urls(outlook) == [f"{outlook.backend.url}/crm/emails/{stored['crm_email_id']}"]
    email = filed_email(outlook.backend.app, stored["crm_email_id"])
    assert email["subject"] == NORTHWIND
    assert {("contact", "Lynne Robbins"), ("contact", "Orders Desk"), ("company", "Northwind Traders")} <= email[
        "linked"
    ]
    assert adele_item(outlook, NORTHWIND) == {"state": "synced", "email_id": int(stored["crm_email_id"])}

    assert tab.url == opened_urls(outlook)[0]
    assert tab.locator("h1").inner_text() == NORTHWIND
    assert tab.locator("main a", has_text="Lynne Robbins").count() >= 1
    assert_loaded_cleanly(tab, answers)


def test_sync_files_the_email_on_its_contact_and_company(defaults):
    outlook = defaults
    outlook.open().select(ATTACHMENTS).open_pane()
    expect_state(outlook, "Not synced")
    message_id = outlook.message_id(ATTACHMENTS)
    assert adele_item(outlook, ATTACHMENTS) in (None, {"state": "none", "email_id": None})

    outlook.pane.locator("#btn-sync").click()
    expect_state(outlook, "Synced")
    outlook.pane.locator("#status", has_text="Synced to the CRM").wait_for()
    outlook.pane.locator("#btn-open.primary").wait_for()  # after filing, Open in CRM is the primary action

    stored = graph_message(outlook.emulator, ADELE, message_id)
    assert stored["crm_state"] == "synced" and stored["crm_email_id"]
    assert "Synced to CRM" in stored["categories"]
    email = filed_email(outlook.backend.app, stored["crm_email_id"])
    assert email["subject"] == ATTACHMENTS
    assert {("contact", "Diego Siciliani"), ("company", "Tailspin Toys")} <= email["linked"]
    assert adele_item(outlook, ATTACHMENTS) == {"state": "synced", "email_id": int(stored["crm_email_id"])}


def test_mark_as_synced_files_nothing_and_marks_outlook(defaults):
    outlook = defaults
    outlook.open().select(ALIAS).open_pane()
    expect_state(outlook, "Not synced")
    message_id = outlook.message_id(ALIAS)

    outlook.action("#btn-mark-synced")
    expect_state(outlook, "Marked as synced")

    stored = graph_message(outlook.emulator, ADELE, message_id)
    assert stored["crm_state"] == "excluded" and not stored["crm_email_id"]
    assert "Synced to CRM" in stored["categories"]
    assert adele_item(outlook, ALIAS) == {"state": "excluded", "email_id": None}
    with session_scope(outlook.backend.app) as session:
        assert session.scalars(select(Email).where(Email.subject == ALIAS)).all() == []


def test_mark_as_unsynced_leaves_the_email_waiting_and_marks_outlook(defaults):
    outlook = defaults
    outlook.open().select(MIXED_CASE).open_pane()
    expect_state(outlook, "Not synced")
    message_id = outlook.message_id(MIXED_CASE)

    outlook.action("#btn-mark-unsynced")
    expect_state(outlook, "Waiting for sync")

    stored = graph_message(outlook.emulator, ADELE, message_id)
    assert stored["crm_state"] == "pending" and not stored["crm_email_id"]
    assert "Synced to CRM" not in stored["categories"]
    item = adele_item(outlook, MIXED_CASE)
    assert item["state"] == "pending"


def test_several_selected_are_synced_together(defaults):
    outlook = defaults
    subjects = [NORTHWIND, ATTACHMENTS, ALIAS]
    outlook.open().select(subjects[0])
    for subject in subjects[1:]:
        outlook.select(subject, add=True)
    outlook.open_pane()
    outlook.pane.locator("#multi-title", has_text="3 messages selected").wait_for()

    outlook.pane.locator("#multi-sync").click()
    outlook.pane.locator("#multi-summary", has_text="3 of 3 synced").wait_for(timeout=30_000)
    results = outlook.pane.locator("#multi-list .result")
    assert [results.nth(i).get_attribute("data-result") for i in range(3)] == ["done"] * 3

    for subject in subjects:
        message_id = outlook.message_id(subject)
        stored = graph_message(outlook.emulator, ADELE, message_id)
        assert stored["crm_state"] == "synced" and "Synced to CRM" in stored["categories"], subject
        assert filed_email(outlook.backend.app, stored["crm_email_id"])["subject"] == subject
        assert adele_item(outlook, subject)["state"] == "synced", subject


# ------------------------------------------------------------------ contact functions


def test_create_outlook_contact_then_sync_it_into_the_crm_then_open_it(defaults, outlook_emulator):
    """Create Outlook contact (from the sender), Sync contact (into the CRM), Open contact
    (its CRM page): one person's way through the three, each checked on both sides."""
    outlook = defaults
    outlook_emulator.deliver(
        ADELE,
        new_message(HENRIK, FJORD_QUOTE, **{"from": {"emailAddress": {"address": HENRIK, "name": "Henrik Larsen"}}}),
    )
    outlook.open().select(FJORD_QUOTE).open_pane()
    row = person_row(outlook, HENRIK)
    row.locator("text=Not in the CRM").wait_for()
    assert contacts_with(outlook.emulator, ADELE, HENRIK) == []

    # Create Outlook contact
    row.locator('[data-action="create-outlook"]').click()
    outlook.pane.locator("#status", has_text="Outlook contact created for Henrik Larsen").wait_for()
    row.locator("text=In your Outlook contacts").wait_for()
    created = contacts_with(outlook.emulator, ADELE, HENRIK)
    assert [(c["givenName"], c["surname"], c["displayName"]) for c in created] == [
        ("Henrik", "Larsen", "Henrik Larsen")
    ]
    assert crm_contact(outlook.backend.app, HENRIK) is None, "creating an Outlook contact must not touch the CRM"

    # Sync contact
    row.locator('[data-action="sync"]').click()
    outlook.pane.locator("#status", has_text="Contact synced: created Henrik Larsen in the CRM").wait_for()
    row.locator(".matches a", has_text="Henrik Larsen").wait_for()
    in_crm = crm_contact(outlook.backend.app, HENRIK)
    assert in_crm and (in_crm["first_name"], in_crm["last_name"], in_crm["display_name"]) == (
        "Henrik",
        "Larsen",
        "Henrik Larsen",
    )
    assert in_crm["outlook_links"] == [immutable_contact_id(outlook.emulator, created[0]["id"])]
    assert str(outlook_contact(outlook.emulator, ADELE, created[0]["id"])["crm_contact_id"]) == str(in_crm["id"])

    # Open contact
    tab, answers = open_crm_window(outlook, row.locator('[data-action="open"]').click)
    assert opened_urls(outlook) == [f"{outlook.backend.url}/crm/contacts/{in_crm['id']}"]
    assert tab.url == opened_urls(outlook)[0]
    assert tab.locator("h1").inner_text() == "Henrik Larsen"
    assert HENRIK in tab.locator("main").inner_text()
    assert_loaded_cleanly(tab, answers)


def test_link_contact_pairs_the_outlook_contact_with_the_chosen_crm_contact(defaults):
    outlook = defaults
    before = crm_contact(outlook.backend.app, LYNNE)
    assert before["display_name"] == "Lynne Robbins"
    outlook.open().select(NORTHWIND).open_pane()
    row = person_row(outlook, LYNNE)
    row.locator("text=In your Outlook contacts").wait_for()

    row.locator('[data-action="link"]').click()
    search = row.get_by_role("combobox")
    search.fill("Lynne")
    row.get_by_role("option", name=re.compile("Lynne Robbins")).click()
    outlook.pane.locator("#status", has_text="Linked to Lynne Robbins in the CRM").wait_for()

    outlook_id = contacts_with(outlook.emulator, ADELE, LYNNE)[0]["id"]
    assert str(outlook_contact(outlook.emulator, ADELE, outlook_id)["crm_contact_id"]) == str(before["id"])
    after = crm_contact_by_id(outlook.backend.app, before["id"])
    assert after["links"] == [immutable_contact_id(outlook.emulator, outlook_id)]
    # The CRM keeps its own values; Outlook fills only what the CRM left empty.
    assert (after["display_name"], after["first_name"], after["last_name"], after["company"]) == (
        "Lynne Robbins",
        "Lynne",
        "Robbins",
        "Northwind Traders",
    )
    assert after["business_phone"] == "+1 425 555 0109"
