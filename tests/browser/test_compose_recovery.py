"""The compose pane's two ways back into the CRM: "Create CRM contact" for an unknown external
recipient (not for a colleague), and an email sent while the CRM could not be reached, which
the send handler lets go out unfiled and the next pane to open offers to file."""

from __future__ import annotations

import pytest

from tests.browser.test_compose import (
    CRM_CONTACT,
    compose,
    custom_properties,
    draft,
    open_compose_pane,
    send_and_wait,
    sent_copy,
    set_to,
)
from tests.browser.test_pane_cases import api
from tests.support.identities import ADELE, MEGAN
from tests.support.outlook_page import graph_message, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

STRANGER = "nora.new@first-order.example"
FAMILY = "mum@family.example"
INBOX_MESSAGE = "Plain: order confirmation from Northwind"


def row(outlook, address: str):
    return outlook.pane.locator(f'#people li.person[data-address="{address}"]')


def crm_contacts(outlook, q: str) -> list[dict]:
    return api(outlook, "GET", f"/crm/contacts/search?q={q}&limit=20")["contacts"]


def test_create_crm_contact_for_an_unknown_external_recipient_from_the_keyboard(outlook):
    api(outlook, "PUT", "/settings/me", json={"never_sync": ["family.example"]})
    compose(outlook.open(), "To a new customer")
    open_compose_pane(outlook)
    set_to(outlook, f"{STRANGER}; {MEGAN}; {CRM_CONTACT}; {FAMILY}")
    stranger = row(outlook, STRANGER)
    stranger.locator('[data-action="create-crm"]').wait_for()
    row(outlook, FAMILY).wait_for()
    # A colleague, a known contact and someone on the never-sync list are not offered it.
    for address in (MEGAN, CRM_CONTACT, FAMILY):
        assert row(outlook, address).locator('[data-action="create-crm"]').count() == 0, address

    stranger.locator('[data-action="create-crm"]').focus()
    outlook.page.keyboard.press("Enter")
    name = stranger.locator('input[name="name"]')
    assert wait_until(lambda: name.evaluate("(el) => el === document.activeElement"))
    name.fill("Nora New")
    outlook.page.keyboard.press("Enter")
    outlook.page.keyboard.press("Enter")  # a second press while the first is under way

    # Matched at once, without a reload, and the focus on the new contact's link.
    link = stranger.locator(".matches a", has_text="Nora New")
    link.wait_for()
    assert wait_until(lambda: link.evaluate("(el) => el === document.activeElement"))
    assert stranger.locator('[data-action="create-crm"]').count() == 0
    assert "Created Nora New in the CRM." in outlook.pane.locator("#status").text_content()
    contacts = crm_contacts(outlook, "nora.new")
    assert [c["name"] for c in contacts] == ["Nora New"]  # one contact for the two presses
    outlook.screenshot("compose-create-contact")


def test_create_crm_contact_shows_the_failure_and_retries(outlook):
    compose(outlook.open(), "To a new customer, CRM away")
    open_compose_pane(outlook)
    set_to(outlook, STRANGER)
    stranger = row(outlook, STRANGER)
    stranger.locator('[data-action="create-crm"]').click()
    outlook.backend.stop()
    try:
        stranger.locator('[data-action="create-contact"]').click()
        alert = stranger.locator(".inline-alert[role='alert']")
        alert.wait_for()
    finally:
        outlook.backend.start()
    alert.locator("button", has_text="Retry").click()
    stranger.locator(".matches a").wait_for()
    assert len(crm_contacts(outlook, "nora.new")) == 1
    # A CRM contact now: with the default setting the email is filed when sent.
    assert wait_until(lambda: "Sync to CRM" in draft(outlook)["categories"])


def send_while_the_crm_is_down(outlook, subject: str) -> str:
    """Sends `subject` to a CRM contact with the backend stopped; the Sent Items copy's id."""
    compose(outlook, subject)
    set_to(outlook, CRM_CONTACT)
    outlook.backend.stop()
    try:
        send_and_wait(outlook, "sent")
    finally:
        outlook.backend.start()
    return outlook.page.evaluate("() => window.outlookPage.sent.at(-1).id")


def test_sent_while_the_crm_was_down_the_next_pane_says_so_and_files_it(outlook):
    outlook.open()
    sent_id = send_while_the_crm_is_down(outlook, "Offer sent while the CRM was down")
    sent = sent_copy(outlook)
    assert sent["categories"] == [] and custom_properties(sent) is None
    assert graph_message(outlook.emulator, ADELE, sent_id)["crm_state"] is None

    outlook.select(INBOX_MESSAGE).open_pane()
    notice = outlook.pane.locator("#unfiled .unfiled-send")
    notice.wait_for()
    text = notice.locator("p").text_content()
    assert "“Offer sent while the CRM was down”" in text and "the CRM could not be reached" in text
    outlook.screenshot("pane-unfiled-send")
    notice.locator('[data-action="file-unfiled"]').click()
    notice.wait_for(state="detached")
    assert "Filed “Offer sent while the CRM was down” in the CRM." in outlook.pane.locator("#status").text_content()
    filed = graph_message(outlook.emulator, ADELE, sent_id)
    assert filed["crm_state"] == "synced" and filed["crm_email_id"]

    # Said once: the next pane has nothing to say.
    outlook.page.locator("#taskpane-close").click()
    outlook.open_pane()
    outlook.pane.locator("#people li").first.wait_for()
    assert outlook.pane.locator("#unfiled").is_hidden()


def test_the_compose_pane_says_so_too_and_dismiss_forgets_it(outlook):
    outlook.open()
    sent_id = send_while_the_crm_is_down(outlook, "Quick note while the CRM was down")
    compose(outlook, "The next email")
    open_compose_pane(outlook)
    notice = outlook.pane.locator("#unfiled .unfiled-send")
    notice.wait_for()
    assert "Quick note while the CRM was down" in notice.text_content()
    notice.locator('[data-action="dismiss-unfiled"]').click()
    notice.wait_for(state="detached")
    assert graph_message(outlook.emulator, ADELE, sent_id)["crm_state"] is None  # dismissed: not filed
    outlook.page.locator("#taskpane-close").click()
    open_compose_pane(outlook)
    outlook.pane.locator("#compose-file").wait_for()
    assert outlook.pane.locator("#unfiled").is_hidden()
