"""The emulated Outlook page itself: right-click categories, the More menu's commands, pane
pinning, the sandboxed reading pane, and the pane's sign-in prompt."""

from __future__ import annotations

import pytest

from tests.support.identities import ADELE, CONTOSO
from tests.support.outlook_page import graph_message, wait_until
from tests.support.pane_page import ATTACHMENTS, MEGAN_NOTE, NORTHWIND, expect_state

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_right_click_categorize_applies_the_category_through_graph(outlook):
    outlook.open()
    row = outlook.row("Hard case: categorised Sync to CRM")
    message_id = row.get_attribute("data-id")
    row.click(button="right")
    menu = outlook.page.locator("#context-menu")
    menu.wait_for()
    assert menu.locator("button[data-category='Sync to CRM']").get_attribute("aria-checked") == "true"
    outlook.screenshot("outlook-categorize-menu")  # the README's right-click command
    menu.locator('button[data-category="Don\'t sync to CRM"]').click()
    stored = wait_until(
        lambda: (
            (m := graph_message(outlook.emulator, ADELE, message_id)) and "Don't sync to CRM" in m["categories"] and m
        )
    )
    assert stored and "Red category" in stored["categories"], "the user's own categories must stay"

    outlook.row(NORTHWIND).click(button="right")
    menu.locator("button[data-category='Sync to CRM']").click()
    assert wait_until(
        lambda: "Sync to CRM" in graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND))["categories"]
    )


def test_more_menu_runs_mark_as_synced_as_a_function_command(outlook):
    outlook.open().select(ATTACHMENTS)
    outlook.ribbon("More").click()
    outlook.page.locator(".ribbon-menu-items button", has_text="Mark as synced").click()
    outlook.page.wait_for_selector("body[data-command='markSynced:completed']", timeout=20_000)
    assert "Marked as synced" in outlook.page.locator("#notifications").inner_text()
    assert graph_message(outlook.emulator, ADELE, outlook.message_id(ATTACHMENTS))["crm_state"] == "excluded"


def test_more_menu_open_in_crm_syncs_first_then_opens_the_crm_page(outlook):
    outlook.open().select(NORTHWIND)
    outlook.ribbon("More").click()
    outlook.page.locator(".ribbon-menu-items button", has_text="Open in CRM").click()
    outlook.page.wait_for_selector("body[data-command='openInCrm:completed']", timeout=20_000)
    opened = outlook.page.evaluate("() => window.outlookPage.openedUrls")
    assert len(opened) == 1 and opened[0].startswith(outlook.backend.url)
    assert graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND))["crm_state"] == "synced"


def test_pane_open_in_crm_opens_the_crm_page(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    outlook.action("#btn-open")
    expect_state(outlook, "Synced")
    assert wait_until(lambda: outlook.page.evaluate("() => window.outlookPage.openedUrls.length") == 1)


def test_unpinned_pane_closes_when_another_message_is_selected(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    outlook.select(ATTACHMENTS)
    outlook.page.locator("#taskpane").wait_for(state="hidden")


def test_reading_pane_never_runs_the_message_scripts(outlook):
    dialogs = []
    outlook.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    outlook.open().select("Hard case: hostile HTML body")
    body = outlook.page.locator("#reading-body")
    assert "allow-scripts" not in (body.get_attribute("sandbox") or "")
    outlook.page.frame_locator("#reading-body").locator("p", has_text="Regards, Lynne").wait_for()
    outlook.page.wait_for_timeout(500)
    assert dialogs == []


def test_missing_consent_asks_the_user_to_sign_in(outlook):
    outlook.open().select(NORTHWIND)
    # The page itself reads the mailbox with its own token; only the add-in loses consent.
    outlook.emulator.consent(CONTOSO, scopes=[], roles=[])
    outlook.open_pane()
    alert = outlook.pane.locator("#alert")
    alert.wait_for()
    assert "Sign-in needed" in alert.inner_text()
    assert outlook.pane.locator("#alert-action").inner_text() == "Sign in"

    outlook.emulator.reset()  # the admin consents (the fixture's consent is back)
    outlook.pane.locator("#alert-action").click()
    expect_state(outlook, "Not synced")
    assert alert.is_hidden()


def test_host_claiming_naa_without_its_bridge_falls_back_to_office_sso(outlook):
    outlook.open(naa=True).select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")


def test_more_menu_creates_an_outlook_contact_from_the_sender_once(outlook):
    outlook.open().select(MEGAN_NOTE)
    for _ in range(2):
        outlook.ribbon("More").click()
        outlook.page.locator(".ribbon-menu-items button", has_text="Create Outlook contact from sender").click()
        outlook.page.wait_for_selector("body[data-command='createOutlookContact:completed']", timeout=20_000)
        outlook.page.evaluate("() => { delete document.body.dataset.command; }")
    assert "already in your Outlook contacts" in outlook.page.locator("#notifications").inner_text()
    token = outlook.emulator.graph_token(ADELE)
    contacts = outlook.emulator.graph("GET", "/me/contacts", token, params={"$top": "100"}).json()["value"]
    megan = [
        c
        for c in contacts
        if any(e["address"].lower() == "megan.bowen@contoso.com" for e in c.get("emailAddresses") or [])
    ]
    assert len(megan) == 1
