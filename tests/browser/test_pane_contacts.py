"""The People list's contact buttons in a real browser: create an Outlook or CRM contact from
an unknown address, link an Outlook contact to a CRM contact by searching, all by keyboard
too and in Polish, checked against the emulated mailbox and the CRM afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.crm.models import Contact
from server.db import session_scope
from tests.support.emulated_contacts import contacts_with, outlook_contact
from tests.support.identities import ADELE, CONTOSO
from tests.support.outlook_page import graph_message, wait_until
from tests.support.pane_page import FOCUS_INFO, expect_state, pane_frame, pane_shot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

MEGAN_NOTE = "Plain: internal note from Megan"  # Megan Bowen: in neither the CRM nor Adele's contacts
NORTHWIND = (
    "Plain: order confirmation from Northwind"  # Lynne Robbins: an Outlook contact; two CRM contacts share her address
)
MEGAN = "megan.bowen@contoso.com"
LYNNE = "lynne.robbins@northwind.example"


def person(outlook, address: str):
    return outlook.pane.locator(f'#people li.person[data-address="{address}"]')


def crm_contacts_with(app, address: str):
    with session_scope(app) as session:
        return [
            (c.id, c.name, c.company.name if c.company else None)
            for c in session.scalars(select(Contact).where(Contact.tenant_id == CONTOSO))
            if address in c.addresses
        ]


def test_create_outlook_contact_from_an_unknown_sender(outlook):
    outlook.open().select(MEGAN_NOTE).open_pane()
    row = person(outlook, MEGAN)
    row.locator("text=Not in the CRM").wait_for()
    assert contacts_with(outlook.emulator, ADELE, MEGAN) == []

    row.locator('[data-action="create-outlook"]').click()
    outlook.pane.locator("#status", has_text="Outlook contact created for Megan Bowen").wait_for()
    row.locator("text=In your Outlook contacts").wait_for()
    assert row.locator('[data-action="create-outlook"]').count() == 0
    for action in ("sync", "link", "open"):
        assert row.locator(f'[data-action="{action}"]').is_visible(), action
    # The focus stays in the row, on what comes next.
    assert pane_frame(outlook).evaluate("document.activeElement.dataset.action") == "sync"
    created = contacts_with(outlook.emulator, ADELE, MEGAN)
    assert [c["displayName"] for c in created] == ["Megan Bowen"]


def test_create_crm_contact_and_link_the_email(outlook, crm_app):
    outlook.open().select(MEGAN_NOTE).open_pane()
    expect_state(outlook, "Not synced")
    row = person(outlook, MEGAN)
    row.locator('[data-action="create-crm"]').click()
    form = row.locator("form.inline-form")
    assert form.get_by_label("Name").input_value() == "Megan Bowen"
    assert form.get_by_label("Email").input_value() == MEGAN
    form.get_by_label("Company (optional)").fill("Contoso")
    pane_shot(outlook, "pane-create-crm-contact")

    form.locator('[data-action="create-and-link"]').click()
    expect_state(outlook, "Synced", timeout=20_000)
    outlook.pane.locator("#status", has_text="this email is linked").wait_for()
    # The person now shows as matched, with the new contact's company, and the filed section appears.
    person(outlook, MEGAN).locator(".matches a", has_text="Megan Bowen").wait_for()
    assert person(outlook, MEGAN).locator(".matches a", has_text="Contoso").count() == 1
    assert person(outlook, MEGAN).locator('[data-action="create-crm"]').count() == 0
    outlook.pane.locator("#filed-section").wait_for()
    assert crm_contacts_with(crm_app, MEGAN) and crm_contacts_with(crm_app, MEGAN)[0][1:] == ("Megan Bowen", "Contoso")
    stored = graph_message(outlook.emulator, ADELE, outlook.message_id(MEGAN_NOTE))
    assert stored["crm_state"] == "synced" and stored["crm_email_id"]


def test_create_crm_contact_only_leaves_the_email_unsynced(outlook, crm_app):
    outlook.open().select(MEGAN_NOTE).open_pane()
    expect_state(outlook, "Not synced")
    row = person(outlook, MEGAN)
    row.locator('[data-action="create-crm"]').click()
    row.locator('[data-action="create-only"]').click()
    outlook.pane.locator("#status", has_text="Created Megan Bowen in the CRM").wait_for()
    person(outlook, MEGAN).locator(".matches a", has_text="Megan Bowen").wait_for()
    expect_state(outlook, "Not synced")
    assert crm_contacts_with(crm_app, MEGAN)
    assert graph_message(outlook.emulator, ADELE, outlook.message_id(MEGAN_NOTE))["crm_state"] in (None, "none")


def test_link_an_outlook_contact_to_a_crm_contact_by_searching(outlook, crm_app):
    outlook.open().select(NORTHWIND).open_pane()
    row = person(outlook, LYNNE)
    row.locator("text=In your Outlook contacts").wait_for()
    row.locator('[data-action="link"]').click()
    assert row.locator('[data-action="link"]').get_attribute("aria-expanded") == "true"
    search = row.get_by_role("combobox")
    assert pane_frame(outlook).evaluate("document.activeElement.getAttribute('role')") == "combobox"

    options = row.get_by_role("option")
    options.first.wait_for()  # the prefilled address finds the contacts that share it
    assert len(options.all_inner_texts()) == 2
    search.fill("Ord")
    assert wait_until(lambda: [t.split("\n")[0] for t in options.all_inner_texts()] == ["Orders Desk"])
    search.fill("Lyn")
    row.get_by_role("option", name="Lynne Robbins").wait_for()
    search.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    assert search.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    for _ in range(options.count()):  # the arrow keys walk the list to her
        if "Lynne Robbins" in outlook.pane.locator('[role="option"][aria-selected="true"]').inner_text():
            break
        search.press("ArrowDown")
    pane_shot(outlook, "pane-link-contact-search")
    search.press("Enter")

    outlook.pane.locator("#status", has_text="Linked to Lynne Robbins in the CRM").wait_for()
    lynne_id = next(cid for cid, name, _ in crm_contacts_with(crm_app, LYNNE) if name == "Lynne Robbins")
    contact_id = contacts_with(outlook.emulator, ADELE, LYNNE)[0]["id"]
    assert wait_until(
        lambda: str(outlook_contact(outlook.emulator, ADELE, contact_id)["crm_contact_id"]) == str(lynne_id)
    )
    # Focus returns to the button that opened the search, now closed.
    link = person(outlook, LYNNE).locator('[data-action="link"]')
    assert link.get_attribute("aria-expanded") == "false"
    assert pane_frame(outlook).evaluate("document.activeElement.dataset.action") == "link"


def test_open_contact_in_crm_syncs_and_opens_its_page(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    row = person(outlook, LYNNE)
    row.locator('[data-action="open"]').click()
    opened = outlook.page.locator("#opened-urls")
    opened.locator("text=/crm/contacts/").wait_for()
    assert outlook.backend.url in opened.inner_text()


def test_keyboard_reaches_the_contact_buttons_and_the_inline_form(outlook):
    outlook.open().select(MEGAN_NOTE).open_pane()
    row = person(outlook, MEGAN)
    row.locator('[data-action="create-crm"]').wait_for()
    frame = pane_frame(outlook)
    frame.evaluate("() => { document.body.tabIndex = -1; document.body.focus(); }")

    def tab_until(predicate, limit=30):
        for _ in range(limit):
            outlook.page.keyboard.press("Tab")
            info = frame.evaluate(FOCUS_INFO)
            if info and predicate(info):
                return info
        raise AssertionError("not reachable with Tab")

    info = tab_until(lambda i: i["text"] == "Create CRM contact")
    assert info["outline"], "no visible focus"
    outlook.page.keyboard.press("Enter")
    # The form opens with the focus in its first field; Tab walks on to its buttons.
    assert frame.evaluate("document.activeElement.name") == "name"
    info = tab_until(lambda i: i["text"] == "Create and link the email", limit=5)
    assert info["outline"]
    outlook.page.keyboard.press("Escape")
    assert frame.evaluate("document.activeElement.dataset.action") == "create-crm"
    assert row.locator("form").count() == 0
    info = tab_until(lambda i: i["text"] == "Create Outlook contact", limit=3)
    assert info["outline"]
    info = tab_until(lambda i: i["tag"] == "SUMMARY")
    assert info["text"] == "More"
    outlook.page.keyboard.press("Enter")
    assert outlook.pane.locator("#more").get_attribute("open") is not None
    tab_until(lambda i: i["id"] == "bulk-folder", limit=3)


def test_polish_contact_actions(outlook):
    outlook.open(lang="pl-PL").select(MEGAN_NOTE).open_pane()
    row = person(outlook, MEGAN)
    create = row.locator('[data-action="create-crm"]')
    create.wait_for()
    assert create.inner_text() == "Utwórz kontakt w CRM"
    assert row.locator('[data-action="create-outlook"]').inner_text() == "Utwórz kontakt w Outlooku"
    create.click()
    assert row.locator('[data-action="create-and-link"]').inner_text() == "Utwórz i powiąż wiadomość"
    assert row.locator('[data-action="create-only"]').inner_text() == "Tylko utwórz"
    assert row.get_by_label("Firma (opcjonalnie)").is_visible()
    assert row.get_by_role("group").get_attribute("aria-label") == "Akcje kontaktu: Megan Bowen"
    assert outlook.pane.locator("#more summary").inner_text() == "Więcej"


def test_a_slow_stale_search_never_replaces_the_newer_answer(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    row = person(outlook, LYNNE)
    row.locator('[data-action="link"]').click()
    search = row.get_by_role("combobox")
    row.get_by_role("option").first.wait_for()

    held = []  # the "Lyn" request, held until the newer answer is on screen
    outlook.page.context.route("**/api/v1/crm/contacts/search?q=Lyn*", lambda route: held.append(route))
    search.fill("Lyn")
    for _ in range(50):  # Playwright runs the route handler while it waits, not while we sleep
        if held:
            break
        outlook.page.wait_for_timeout(100)
    assert held, "the search did not go out"
    search.fill("Ord")
    options = row.get_by_role("option")
    assert wait_until(lambda: [t.split("\n")[0] for t in options.all_inner_texts()] == ["Orders Desk"])
    for route in held:
        try:
            route.continue_()  # the stale answer arrives last...
        except Exception:
            pass  # ...or was aborted by the pane already
    outlook.page.wait_for_timeout(1000)
    assert [t.split("\n")[0] for t in options.all_inner_texts()] == ["Orders Desk"]
    assert "1 found" in row.locator(".search-info").inner_text()
    search.press("Escape")  # closes the list, then the search
    search.press("Escape")
    assert row.get_by_role("combobox").count() == 0
    assert pane_frame(outlook).evaluate("document.activeElement.dataset.action") == "link"


def test_a_failed_contact_action_says_so_in_the_row_and_retry_finishes_it(outlook):
    outlook.open().select(MEGAN_NOTE).open_pane()
    row = person(outlook, MEGAN)
    row.locator('[data-action="create-outlook"]').wait_for()
    outlook.backend.stop()
    try:
        row.locator('[data-action="create-outlook"]').click()
        alert = row.locator(".inline-alert")
        alert.wait_for()
        text = alert.inner_text()
        assert "Can't reach the CRM" in text and "{" not in text
        assert alert.get_attribute("role") == "alert"
    finally:
        outlook.backend.start()
    alert.get_by_role("button", name="Retry").click()
    row.locator("text=In your Outlook contacts").wait_for()
    assert row.locator(".inline-alert").count() == 0
    assert len(contacts_with(outlook.emulator, ADELE, MEGAN)) == 1
