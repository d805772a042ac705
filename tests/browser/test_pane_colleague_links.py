"""A colleague's conversation link, in Megan's real pane: it files only Adele's mailbox, so
Megan's pane says what Adele files the thread on and offers her own link in one click."""

from __future__ import annotations

import pytest
import requests

from tests.support.identities import ADELE, MEGAN
from tests.support.pane_page import expect_state, pane_shot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

LYNNE = "lynne.robbins@northwind.example"
THREAD = "AAQkADBiNWU4ZjRhLWJyb3dzZXItY29sbGVhZ3VlAAQAA="
SUBJECT = "Rollout: delivery window"


def api(outlook, upn: str, method: str, path: str, **kwargs):
    token = outlook.emulator.pane_token(upn)
    response = requests.request(
        method,
        f"{outlook.backend.url}/api/v1{path}",
        timeout=20,
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )
    response.raise_for_status()
    return response.json() if response.content else None


def thread_message(upn: str, subject: str) -> dict:
    return {
        "subject": subject,
        "conversationId": THREAD,
        "from": {"emailAddress": {"address": LYNNE, "name": "Lynne Robbins"}},
        "toRecipients": [{"emailAddress": {"address": upn}}],
        "body": {"contentType": "text", "content": "Friday works."},
    }


def test_megan_sees_adeles_link_and_files_her_own_in_one_click(outlook):
    # Adele files her copy of the thread and links the thread to a case.
    adele_copy = outlook.emulator.deliver(ADELE, thread_message(ADELE, SUBJECT))
    filed = api(outlook, ADELE, "POST", f"/messages/{adele_copy['id']}/sync")
    linked = api(
        outlook,
        ADELE,
        "POST",
        f"/emails/{filed['crm_email_id']}/conversation-links",
        json={"new_case": {"title": "Rollout"}},
    )
    case_id = linked["created"]["case"]["id"]
    # Lynne's reply reaches Megan only.
    outlook.emulator.deliver(MEGAN, thread_message(MEGAN, f"RE: {SUBJECT}"))

    outlook.open(upn=MEGAN).select(f"RE: {SUBJECT}").open_pane()
    expect_state(outlook, "Not synced")
    pane = outlook.pane
    suggestion = pane.locator("#colleague-links .suggestion")
    suggestion.wait_for()
    assert suggestion.locator("p").inner_text() == (
        "Adele Vance files this conversation on the case “Rollout”. File yours too?"
    )
    action = suggestion.locator('[data-action="file-mine-too"]')
    assert action.inner_text() == "File mine too"
    assert action.get_attribute("aria-label") == "File your emails of this conversation on Rollout too"
    pane_shot(outlook, "pane-colleague-link-suggestion")

    action.click()
    pane.locator("#status", has_text="Your emails of this conversation now go to Rollout too.").wait_for()
    expect_state(outlook, "Synced")
    assert pane.locator("#colleague-links").is_hidden()

    # Megan's own link now, beside Adele's, which only Adele can stop.
    mine = pane.locator('#filed-links li[data-type="conversation"][data-mine="true"]', has_text="Rollout")
    mine.wait_for()
    assert mine.locator("button").count() == 1
    theirs = pane.locator('#filed-links li[data-type="conversation"][data-mine="false"]')
    assert "linked by Adele Vance" in theirs.inner_text() and theirs.locator("button").count() == 0
    message_id = outlook.message_id(f"RE: {SUBJECT}")
    view = api(outlook, MEGAN, "GET", f"/messages/{message_id}")
    assert view["colleague_links"] == []
    links = api(outlook, MEGAN, "GET", f"/emails/{view['crm_email_id']}/conversation-links")["links"]
    assert [(link["target_id"], link["mine"], link["made_by"]) for link in links] == [
        (case_id, False, "Adele Vance"),
        (case_id, True, "Megan Bowen"),
    ]
    case_emails = api(outlook, MEGAN, "GET", f"/emails/{view['crm_email_id']}/links")["links"]
    assert ("case", case_id) in {(link["target_type"], link["target_id"]) for link in case_emails}


def test_the_suggestion_speaks_the_panes_language(outlook):
    adele_copy = outlook.emulator.deliver(ADELE, thread_message(ADELE, SUBJECT))
    filed = api(outlook, ADELE, "POST", f"/messages/{adele_copy['id']}/sync")
    api(
        outlook,
        ADELE,
        "POST",
        f"/emails/{filed['crm_email_id']}/conversation-links",
        json={"new_case": {"title": "Wdrożenie"}},
    )
    outlook.emulator.deliver(MEGAN, thread_message(MEGAN, f"RE: {SUBJECT}"))

    outlook.open(upn=MEGAN, lang="pl-PL").select(f"RE: {SUBJECT}").open_pane()
    suggestion = outlook.pane.locator("#colleague-links .suggestion")
    suggestion.wait_for()
    assert suggestion.locator("p").inner_text() == (
        "Adele Vance zapisuje tę konwersację w sprawie „Wdrożenie”. Zapisać też Twoją?"
    )
    assert suggestion.locator("button").inner_text() == "Zapisz też moją"
