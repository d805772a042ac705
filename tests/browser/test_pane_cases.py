"""The filed email's section and the "More" section in a real browser: link to a new case and
task with a sharing rule, notes, the conversation, a folder's bulk sync with its progress bar,
and the automatic sync setting, checked against the CRM's API afterwards."""

from __future__ import annotations

import pytest
import requests

from server.crm.tenants import get_or_create_user
from server.db import session_scope
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.outlook_page import graph_message
from tests.support.pane_page import FOCUS_INFO, MEGAN_NOTE, expect_state, pane_frame, pane_shot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

NORTHWIND = "Plain: order confirmation from Northwind"  # from Lynne Robbins
ALIAS = "Plain: message to alias"  # from Diego Siciliani
LYNNE = "lynne.robbins@northwind.example"


def api(outlook, method: str, path: str, **kwargs):
    token = outlook.emulator.pane_token(ADELE)
    response = requests.request(
        method,
        f"{outlook.backend.url}/api/v1{path}",
        timeout=20,
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )
    response.raise_for_status()
    return response.json() if response.content else None


def synced(outlook, subject: str) -> int:
    """Opens the pane on `subject`, syncs it, and returns its CRM email id."""
    outlook.open().select(subject).open_pane()
    expect_state(outlook, "Not synced")
    outlook.pane.locator("#filed-section").wait_for(state="hidden")
    outlook.pane.locator("#btn-sync").click()
    expect_state(outlook, "Synced")
    outlook.pane.locator("#filed-section").wait_for()
    return int(graph_message(outlook.emulator, ADELE, outlook.message_id(subject))["crm_email_id"])


def test_link_the_filed_email_to_a_new_case_and_task_with_a_sharing_rule_then_add_a_note(outlook):
    email_id = synced(outlook, NORTHWIND)
    pane = outlook.pane
    # The sync's answer does not look Outlook contacts up: Lynne keeps her Outlook-contact buttons.
    assert pane.locator('#people [data-action="sync"]').count() == 1
    assert pane.locator('#people [data-action="create-outlook"]').count() == 0
    pane.locator("#filed-links", has_text="Not linked to a case or task yet").wait_for()
    pane.locator("#filed-notes", has_text="No notes yet").wait_for()

    pane.locator("#filed-link-toggle").click()
    pane.locator("#link-case").select_option("new")
    pane.locator("#link-case-title").fill("Northwind order 4711")
    pane.locator("#link-task").select_option("new")
    pane.locator("#link-task-title").fill("Confirm the delivery date")
    warning = pane.locator("#filed-link-form .warning")
    assert warning.is_hidden()
    pane.locator("#link-rule").check()
    assert "confidential information" in warning.inner_text()
    assert pane.locator("#link-rule").get_attribute("aria-describedby") == warning.get_attribute("id")
    assert pane.locator("#link-rule-address").input_value() == LYNNE
    pane.locator("#filed-link-form .form-actions").scroll_into_view_if_needed()
    pane_shot(outlook, "pane-link-case-sharing-rule")

    pane.locator('[data-action="link-email"]').click()
    pane.locator("#status", has_text=f"Email linked. Sharing rule created for {LYNNE}.").wait_for()
    pane.locator("#filed-links a", has_text="Northwind order 4711").wait_for()
    assert pane.locator("#filed-links a", has_text="Confirm the delivery date").count() == 1
    assert pane.locator("#filed-link-form").is_hidden()

    links = api(outlook, "GET", f"/emails/{email_id}/links")["links"]
    case = next(l for l in links if l["target_type"] == "case")
    task = next(l for l in links if l["target_type"] == "task")
    assert case["title"] == "Northwind order 4711" and task["title"] == "Confirm the delivery date"
    assert api(outlook, "GET", f"/tasks/{task['target_id']}")["case_id"] == case["target_id"]
    rules = api(outlook, "GET", f"/cases/{case['target_id']}/sharing-rules")["rules"]
    assert [(r["address"], r["mine"]) for r in rules] == [(LYNNE, True)]

    pane.locator("#note-body").fill("Lynne confirmed by phone: delivery on Friday.")
    pane.locator("#note-form button[type=submit]").click()
    pane.locator("#status", has_text="Note added.").wait_for()
    note = pane.locator("#filed-notes li.note")
    assert "delivery on Friday" in note.inner_text() and "Adele Vance" in note.inner_text()
    assert pane.locator("#note-body").input_value() == ""
    assert [n["body"] for n in api(outlook, "GET", f"/emails/{email_id}/notes")["notes"]] == [
        "Lynne confirmed by phone: delivery on Friday."
    ]
    pane.locator("#filed-section").scroll_into_view_if_needed()
    pane_shot(outlook, "pane-filed-email")


def test_link_conversation_to_an_existing_case_links_its_other_filed_emails(outlook):
    email_id = synced(outlook, NORTHWIND)
    # Lynne answers: the same conversation (Graph's conversationId follows the thread's subject).
    reply = outlook.emulator.deliver(
        ADELE,
        {
            "subject": f"RE: {NORTHWIND}",
            "from": {"emailAddress": {"address": LYNNE, "name": "Lynne Robbins"}},
            "toRecipients": [{"emailAddress": {"address": ADELE}}],
            "body": {"contentType": "text", "content": "Friday."},
        },
    )
    reply_id = api(outlook, "POST", f"/messages/{reply['id']}/sync")["crm_email_id"]
    case = api(outlook, "POST", "/cases", json={"title": "Northwind account"})

    pane = outlook.pane
    pane.locator("#filed-link-toggle").click()
    pane.locator("#link-case").select_option(str(case["id"]))
    pane.locator('[data-action="link-conversation"]').click()
    pane.locator("#status", has_text="Conversation linked").wait_for()
    pane.locator('#filed-links li[data-type="conversation"]', has_text="Northwind account").wait_for()
    assert [
        l["target_id"] for l in api(outlook, "GET", f"/emails/{reply_id}/links")["links"] if l["target_type"] == "case"
    ] == [case["id"]]
    assert api(outlook, "GET", f"/emails/{email_id}/conversation-links")["links"][0]["target_id"] == case["id"]

    pane.locator('#filed-links li[data-type="conversation"] button').click()
    pane.locator("#status", has_text="will no longer be linked").wait_for()
    assert api(outlook, "GET", f"/emails/{email_id}/conversation-links")["links"] == []


def test_filed_section_needs_a_case_or_task_and_is_keyboard_reachable(outlook):
    synced(outlook, ALIAS)
    frame = pane_frame(outlook)
    frame.focus("#btn-sync")
    reached = {}
    for _ in range(25):
        outlook.page.keyboard.press("Tab")
        info = frame.evaluate(FOCUS_INFO)
        if info:
            reached[info["id"] or info["text"]] = info
        if info and info["id"] == "note-body":
            break
    for control in ("filed-link-toggle", "note-body"):
        assert control in reached and reached[control]["outline"], (control, list(reached))
    frame.focus("#filed-link-toggle")
    outlook.page.keyboard.press("Enter")
    outlook.pane.locator("#link-case").wait_for()
    assert frame.evaluate("document.activeElement.id") == "link-case"
    assert outlook.pane.locator("#link-rule").is_disabled()  # a sharing rule needs a case
    outlook.page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") == "link-task"
    # Nothing chosen: the form says so instead of calling the API.
    outlook.pane.locator('[data-action="link-email"]').click()
    assert frame.evaluate("document.getElementById('link-case').validationMessage").startswith("Choose a case")
    outlook.page.keyboard.press("Escape")
    assert outlook.pane.locator("#filed-link-form").is_hidden()
    assert frame.evaluate("document.activeElement.id") == "filed-link-toggle"


def test_bulk_sync_of_a_folder_shows_progress_and_a_result(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    pane = outlook.pane
    pane.locator("#more summary").click()
    pane.locator("#bulk-folder").select_option("sentitems")
    pane.locator("#bulk-since").fill("2026-01-01")
    pane.locator("#bulk-start").click()
    progress = pane.locator("#bulk-progress")
    progress.wait_for()
    pane.locator('#bulk-progress[data-state="done"]').wait_for(timeout=60_000)
    result = pane.locator("#bulk-result").inner_text()
    assert result.startswith("Done: ") and "emails synced" in result, result
    assert pane.locator("#bulk-bar").evaluate("bar => bar.value === bar.max")
    assert pane.locator("#status", has_text="Done: ").count() == 1
    pane_shot(outlook, "pane-more-bulk-sync")
    token = outlook.emulator.graph_token(ADELE)
    sent = outlook.emulator.graph("GET", "/me/mailFolders/sentitems/messages", token, params={"$select": "id"}).json()[
        "value"
    ]
    states = [graph_message(outlook.emulator, ADELE, m["id"])["crm_state"] for m in sent]
    assert states and set(states) == {"synced"}, states
    assert result == f"Done: {len(sent)} emails synced.", result


def test_bulk_sync_result_counts_what_it_skipped_apart_from_what_it_filed(outlook):
    # The Inbox holds internal mail (Megan's note): no CRM contact is on it, so bulk sync
    # skips it, and the result must say so instead of counting it as synced.
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    pane = outlook.pane
    pane.locator("#more summary").click()
    pane.locator("#bulk-folder").select_option("inbox")
    pane.locator("#bulk-since").fill("2026-01-01")
    pane.locator("#bulk-start").click()
    pane.locator('#bulk-progress[data-state="done"]').wait_for(timeout=60_000)
    result = pane.locator("#bulk-result").inner_text()
    assert result.startswith("Done: ") and "skipped with no CRM contact" in result, result
    note_id = outlook.message_id(MEGAN_NOTE)
    assert graph_message(outlook.emulator, ADELE, note_id)["crm_state"] != "synced"


def test_automatic_sync_setting_is_saved(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    pane = outlook.pane
    pane.locator("#more summary").click()
    off = pane.get_by_label("Off: only what I sync myself")
    off.wait_for()
    assert off.is_checked()
    assert pane.locator("#auto-sync-options", has_text="Your organisation's default").count() == 1
    pane.get_by_label("Every email to or from a CRM contact").check()
    pane.locator("#status", has_text="Saved. Automatic sync: Every email to or from a CRM contact").wait_for()
    assert api(outlook, "GET", "/settings/me")["auto_sync"] == "known_contacts"
    assert pane.get_by_label("Every email to or from a CRM contact").is_checked()
    api(outlook, "PUT", "/settings/me", json={"auto_sync": "off"})


def test_polish_filed_section_and_more(outlook):
    outlook.open(lang="pl-PL").select(NORTHWIND).open_pane()
    expect_state(outlook, "Niezapisane")
    outlook.pane.locator("#btn-sync").click()
    expect_state(outlook, "Zapisane")
    pane = outlook.pane
    pane.locator("#filed-title", has_text="Sprawa, zadanie i notatki").wait_for()
    assert pane.locator("#filed-link-toggle").inner_text() == "Powiąż ze sprawą lub zadaniem…"
    assert pane.locator("#note-form button").inner_text() == "Dodaj notatkę"
    pane.locator("#filed-link-toggle").click()
    pane.locator("#link-case").select_option("new")
    pane.locator("#link-rule").check()
    assert "informacjami poufnymi" in pane.locator("#filed-link-form .warning").inner_text()
    assert pane.locator('[data-action="link-conversation"]').inner_text() == "Powiąż konwersację"
    pane.locator("#more summary").click()
    assert pane.locator("#bulk-start").inner_text() == "Zapisz folder"
    pane.get_by_label("Wyłączony: tylko to, co zapiszę sam").wait_for()


def test_an_administrators_limit_on_automatic_sync_is_shown_and_holds(outlook, crm_app):
    with session_scope(crm_app) as session:
        adele = get_or_create_user(session, CONTOSO, ADELE_OID, ADELE, "Adele Vance")
        adele.restrict(auto_sync="marked")
        session.commit()
    outlook.open().select(NORTHWIND).open_pane()
    pane = outlook.pane
    pane.locator("#more summary").click()
    limit = pane.locator("#auto-sync-limit")
    limit.wait_for()
    assert limit.inner_text() == (
        "Your administrator allows automatic sync at most: Emails I mark as unsynced or categorise “Sync to CRM”"
    )
    pane.get_by_label("Every email to or from a CRM contact").check()
    pane.locator("#status", has_text="Saved. Automatic sync: Emails I mark as unsynced").wait_for()
    assert api(outlook, "GET", "/settings/me")["auto_sync"] == "marked"  # her choice, within the limit
    assert pane.get_by_label("Emails I mark as unsynced or categorise “Sync to CRM”").is_checked()
