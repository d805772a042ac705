"""The compose pane on an Outlook below the sets it uses. The manifest's 1.1 block declares
Mailbox 1.5 (what Outlook on Android and iOS support), so a client with 1.5 to 1.11 opens the
compose pane too: without RecipientsChanged (1.7) it offers Check recipients, without categories
(1.8) it says the choice cannot travel and what to do instead, and nothing fails. Such a client
never runs OnMessageSend (1.12): Send sends at once."""

from __future__ import annotations

import pytest

from tests.browser.test_compose import (
    CRM_CONTACT,
    compose,
    custom_properties,
    draft,
    open_compose_pane,
    sent_copy,
    set_to,
)
from tests.browser.test_pane_cases import api
from tests.support.outlook_page import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def page_errors(outlook) -> list[str]:
    """Script errors (an uncaught exception, a failed Office.js call logged as an error); a
    resource the page asks for and the emulator does not have (e.g. a favicon) is not one."""
    return [
        line
        for line in outlook.console
        if line.startswith(("pageerror", "error")) and "Failed to load resource" not in line
    ]


def test_below_mailbox_1_7_the_pane_explains_and_check_recipients_refreshes(outlook):
    case_id = str(api(outlook, "POST", "/cases", json={"title": "Older Outlook case"})["id"])
    compose(outlook.open(mailbox="1.6"), "From an older Outlook")
    open_compose_pane(outlook)
    limits = outlook.pane.locator("#compose-limits")
    limits.wait_for(state="visible")
    text = limits.text_content()
    assert "doesn't tell the add-in when you change the recipients" in text
    assert "can't mark a draft for the CRM" in text and "Sync to CRM" in text
    toggle = outlook.pane.locator("#compose-file")
    assert toggle.is_disabled() and not toggle.is_checked()

    # Editing To raises no event on this client: the row appears after Check recipients.
    set_to(outlook, CRM_CONTACT)
    row = outlook.pane.locator(f'#people li.person[data-address="{CRM_CONTACT}"]')
    check = outlook.pane.locator("#compose-check")
    assert check.is_visible()
    check.click()
    row.locator(".matches a", has_text="Lynne Robbins").wait_for()
    # A CRM recipient does not switch filing on: without categories nothing would carry it.
    assert not toggle.is_checked()
    assert draft(outlook)["categories"] == []
    outlook.screenshot("compose-older-outlook")

    # What still travels: the case picked here (custom properties, Mailbox 1.1).
    picker = outlook.pane.locator("#link-case")
    picker.wait_for()
    picker.select_option(case_id)
    assert wait_until(lambda: draft(outlook)["properties"].get("crm_case_id") == int(case_id))

    # No OnMessageSend on a 1.6 client: Send goes straight out, with the ids and no category.
    outlook.page.locator("#compose-send").click()
    outlook.page.wait_for_selector("body[data-send='sent']")
    sent = sent_copy(outlook)
    assert sent["categories"] == []
    assert custom_properties(sent) == {"crm_case_id": int(case_id)}
    assert page_errors(outlook) == [], page_errors(outlook)


def test_with_mailbox_1_7_recipients_are_live_and_only_categories_are_missing(outlook):
    compose(outlook.open(mailbox="1.7"), "Live recipients, no categories")
    open_compose_pane(outlook)
    limits = outlook.pane.locator("#compose-limits")
    limits.wait_for(state="visible")
    assert "can't mark a draft for the CRM" in limits.text_content()
    assert "doesn't tell the add-in" not in limits.text_content()
    assert outlook.pane.locator("#compose-check").is_hidden()
    set_to(outlook, CRM_CONTACT)
    row = outlook.pane.locator(f'#people li.person[data-address="{CRM_CONTACT}"]')
    row.locator(".matches a", has_text="Lynne Robbins").wait_for()
    assert page_errors(outlook) == [], page_errors(outlook)


def test_the_pane_says_it_in_polish_on_an_older_client(outlook):
    compose(outlook.open(mailbox="1.5", lang="pl-PL"), "Starszy Outlook")
    open_compose_pane(outlook)
    limits = outlook.pane.locator("#compose-limits")
    limits.wait_for(state="visible")
    assert "Ta wersja Outlooka" in limits.text_content()
    assert outlook.pane.locator("#compose-check").text_content() == "Sprawdź odbiorców"
