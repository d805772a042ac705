"""The compose pane and Send in the emulated Outlook: recipients' CRM matches as they are typed,
the "File in the CRM when sent" toggle written on the draft (category and custom properties),
and Send running the add-in's OnMessageSend handler before the message reaches Sent Items."""

from __future__ import annotations

import json

import pytest

from tests.browser.test_pane_cases import api
from tests.support.identities import ADELE
from tests.support.outlook_page import graph_message, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

CRM_CONTACT = "lynne.robbins@northwind.example"
STRANGER = "nobody@unknown-company.example"
ADDIN_ID = "2d7f9c4e-5a81-4b36-9e0d-8c1f3a6b7e52"
CUSTOM_PROPERTIES = f"String {{00020329-0000-0000-C000-000000000046}} Name cecp-{ADDIN_ID}"


def compose(outlook, subject: str):
    outlook.page.locator("#compose-new").click()
    outlook.page.locator("#compose").wait_for(state="visible")
    outlook.page.locator("#compose-subject").fill(subject)
    return outlook


def set_to(outlook, addresses: str):
    field = outlook.page.locator("#compose-to")
    field.fill(addresses)
    field.dispatch_event("change")


def open_compose_pane(outlook):
    outlook.page.locator("#ribbon-crmComposeButton").click()
    outlook.pane.locator("#app").wait_for(state="visible")


def draft(outlook) -> dict:
    return outlook.page.evaluate("() => JSON.parse(JSON.stringify(window.outlookPage.compose))")


def sent_copy(outlook) -> dict:
    """The Sent Items copy of what Send just sent, as Graph has it, with the custom properties."""
    sent = outlook.page.evaluate("() => window.outlookPage.sent.at(-1)")
    token = outlook.emulator.graph_token(ADELE)
    response = outlook.emulator.graph(
        "GET",
        f"/me/messages/{sent['id']}",
        token,
        params={
            "$select": "id,subject,categories,parentFolderId",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{CUSTOM_PROPERTIES}')",
        },
    )
    response.raise_for_status()
    return response.json()


def custom_properties(message: dict) -> dict | None:
    for prop in message.get("singleValueExtendedProperties") or []:
        if prop["id"].lower() == CUSTOM_PROPERTIES.lower():
            return json.loads(prop["value"])
    return None


def test_the_pane_matches_recipients_as_they_change_and_the_toggle_travels_on_the_draft(outlook):
    case_id = str(api(outlook, "POST", "/cases", json={"title": "Northwind offer"})["id"])
    compose(outlook.open(), "Offer for Northwind")
    open_compose_pane(outlook)
    outlook.pane.locator("#people", has_text="Add recipients").wait_for()

    set_to(outlook, CRM_CONTACT)
    row = outlook.pane.locator(f'#people li.person[data-address="{CRM_CONTACT}"]')
    row.locator(".matches a", has_text="Lynne Robbins").wait_for()
    # Default (file when a recipient is a CRM contact): the toggle turns on and the draft carries it.
    toggle = outlook.pane.locator("#compose-file")
    assert wait_until(lambda: toggle.is_checked())
    assert wait_until(lambda: "Sync to CRM" in draft(outlook)["categories"])

    set_to(outlook, f"{CRM_CONTACT}; {STRANGER}")
    outlook.pane.locator(f'#people li.person[data-address="{STRANGER}"]', has_text="Not in the CRM").wait_for()

    toggle.click()  # the user turns filing off
    assert wait_until(lambda: "Sync to CRM" not in draft(outlook)["categories"])
    assert wait_until(lambda: draft(outlook)["properties"] == {"crm_file": False})

    toggle.click()  # and on again, linked to a case
    assert wait_until(lambda: "Sync to CRM" in draft(outlook)["categories"])
    picker = outlook.pane.locator("#link-case")
    picker.wait_for()
    picker.select_option(case_id)
    assert wait_until(lambda: draft(outlook)["properties"].get("crm_case_id") == int(case_id))
    outlook.screenshot("compose-pane")

    # Close the pane, then send: the choice went with the draft.
    outlook.page.locator("#taskpane-close").click()
    outlook.page.locator("#compose-send").click()
    outlook.page.wait_for_selector("body[data-send='sent']")
    sent = sent_copy(outlook)
    assert sent["subject"] == "Offer for Northwind"
    assert "Sync to CRM" in sent["categories"] or "Synced to CRM" in sent["categories"]
    props = custom_properties(sent)
    assert props["crm_case_id"] == int(case_id) and props["crm_file"] is True


def test_toggle_off_sends_without_the_category_or_the_link(outlook):
    compose(outlook.open(), "Not for the CRM")
    open_compose_pane(outlook)
    set_to(outlook, CRM_CONTACT)
    toggle = outlook.pane.locator("#compose-file")
    assert wait_until(lambda: toggle.is_checked())
    toggle.click()
    assert wait_until(lambda: "Sync to CRM" not in draft(outlook)["categories"])
    outlook.page.locator("#compose-send").click()
    outlook.page.wait_for_selector("body[data-send='sent']")
    sent = sent_copy(outlook)
    assert sent["categories"] == []
    assert custom_properties(sent) == {"crm_file": False}


@pytest.fixture
def ask_on_send(outlook):
    """Adele has "Ask when I send to a CRM contact" on for the test."""
    api(outlook, "PUT", "/settings/me", json={"ask_on_send": True})
    yield outlook
    api(outlook, "PUT", "/settings/me", json={"ask_on_send": False})


def send_and_wait(outlook, outcome: str):
    outlook.page.locator("#compose-send").click()
    outlook.page.wait_for_selector(f"body[data-send='{outcome}']")


def test_smart_alert_asks_for_a_crm_contact_and_send_anyway_sends_unfiled(ask_on_send):
    outlook = ask_on_send
    compose(outlook.open(), "Asked, sent without filing")
    set_to(outlook, CRM_CONTACT)  # the pane is never opened: the user has not decided
    send_and_wait(outlook, "alert")
    alert = outlook.page.locator("#smart-alert")
    assert alert.locator("#smart-alert-text").text_content() == "File this email in the CRM?"
    assert alert.locator("#smart-alert-cancel").text_content() == "File and send"
    outlook.screenshot("compose-smart-alert")
    alert.locator("#smart-alert-anyway").click()  # Outlook's "Send Anyway": send without filing
    outlook.page.wait_for_selector("body[data-send='sent']")
    sent = sent_copy(outlook)
    assert sent["subject"] == "Asked, sent without filing"
    assert sent["categories"] == [] and custom_properties(sent) is None


def test_recipients_typed_while_the_new_message_handler_runs_are_kept(ask_on_send):
    # OnNewMessageCompose runs while the user types: here it finishes after the To field is
    # filled and before the field is committed (its change event), which must not lose it.
    outlook = ask_on_send
    held = []

    def hold(route):
        held.append(route)

    outlook.page.route("**/api/v1/settings/me", hold)
    compose(outlook.open(), "Typed while the handler ran")
    outlook.page.locator("#compose-to").fill(CRM_CONTACT)
    # (Playwright hands over held requests during its calls: evaluate lets it.)
    assert wait_until(lambda: outlook.page.evaluate("() => true") and held), "OnNewMessageCompose asked nothing"
    held.pop().continue_()  # the handler gets its settings and completes
    outlook.page.unroute("**/api/v1/settings/me", hold)
    assert wait_until(lambda: outlook.page.evaluate("() => window.outlookPage.events.invocations.size") == 0)
    outlook.page.locator("#compose-to").dispatch_event("change")
    assert outlook.page.locator("#compose-to").input_value() == CRM_CONTACT
    send_and_wait(outlook, "alert")


def test_smart_alert_file_and_send_opens_the_pane_and_the_next_send_files(ask_on_send):
    outlook = ask_on_send
    compose(outlook.open(), "Asked, filed")
    set_to(outlook, CRM_CONTACT)
    send_and_wait(outlook, "alert")
    outlook.page.locator("#smart-alert-cancel").click()  # "File and send": the compose pane opens
    outlook.pane.locator("#app").wait_for(state="visible")
    assert wait_until(lambda: outlook.pane.locator("#compose-file").is_checked())
    assert wait_until(lambda: "Sync to CRM" in draft(outlook)["categories"])
    send_and_wait(outlook, "sent")  # decided now: no second question
    sent = sent_copy(outlook)
    assert sent["subject"] == "Asked, filed"
    assert set(sent["categories"]) & {"Sync to CRM", "Synced to CRM"}


def test_smart_alert_does_not_ask_without_a_crm_contact_or_once_decided(ask_on_send):
    outlook = ask_on_send
    compose(outlook.open(), "To a stranger")
    set_to(outlook, STRANGER)
    send_and_wait(outlook, "sent")
    assert sent_copy(outlook)["categories"] == []

    compose(outlook, "Decided in the pane")
    open_compose_pane(outlook)
    set_to(outlook, CRM_CONTACT)
    toggle = outlook.pane.locator("#compose-file")
    assert wait_until(lambda: toggle.is_checked())
    toggle.click()  # decided: not filed
    assert wait_until(lambda: draft(outlook)["properties"] == {"crm_file": False})
    send_and_wait(outlook, "sent")
    assert sent_copy(outlook)["categories"] == []


def runtime_ready(outlook) -> bool:
    """The add-in's event runtime has loaded (its send handler is associated) and its
    OnNewMessageCompose run has completed."""
    return outlook.page.evaluate(
        "() => window.outlookPage.events.associated.has('onMessageSendHandler')"
        " && window.outlookPage.events.invocations.size === 0"
    )


def test_server_unreachable_at_send_sends_the_message_unfiled(ask_on_send):
    outlook = ask_on_send
    compose(outlook.open(), "Sent while the CRM was down")
    set_to(outlook, CRM_CONTACT)
    # The add-in is loaded and the server goes away after: the handler itself meets the outage.
    assert wait_until(lambda: runtime_ready(outlook))
    outlook.backend.stop()
    try:
        send_and_wait(outlook, "sent")
    finally:
        outlook.backend.start()
    sent = sent_copy(outlook)
    assert sent["subject"] == "Sent while the CRM was down"
    assert sent["categories"] == [] and custom_properties(sent) is None


def test_an_add_in_that_cannot_load_lets_the_user_send_anyway_or_try_later(outlook):
    # The server is down before the add-in's event runtime loads: Outlook calls the add-in
    # unavailable and, under the manifest's PromptUser, offers Send Anyway and Try Later.
    outlook.open()
    outlook.backend.stop()
    try:
        compose(outlook, "Sent while the add-in could not load")
        set_to(outlook, CRM_CONTACT)
        send_and_wait(outlook, "unavailable")
        alert = outlook.page.locator("#smart-alert")
        assert "is unavailable" in alert.locator("#smart-alert-text").text_content()
        assert alert.locator("#smart-alert-anyway").is_visible()
        alert.locator("#smart-alert-cancel").click()  # Try Later: the draft stays
        assert draft(outlook)["subject"] == "Sent while the add-in could not load"
    finally:
        outlook.backend.start()
    # Back up: the next Send loads the add-in again and its handler files the message.
    send_and_wait(outlook, "sent")
    assert set(sent_copy(outlook)["categories"]) & {"Sync to CRM", "Synced to CRM"}


def test_send_anyway_when_the_add_in_cannot_load_sends_unfiled(outlook):
    outlook.open()
    outlook.backend.stop()
    try:
        compose(outlook, "Sent anyway")
        set_to(outlook, CRM_CONTACT)
        send_and_wait(outlook, "unavailable")
        outlook.page.locator("#smart-alert-anyway").click()
        outlook.page.wait_for_selector("body[data-send='sent']")
    finally:
        outlook.backend.start()
    sent = sent_copy(outlook)
    assert sent["subject"] == "Sent anyway"
    assert sent["categories"] == [] and custom_properties(sent) is None


def test_send_files_for_a_crm_contact_by_default_with_the_pane_never_opened(outlook):
    # The default ("when a recipient is a CRM contact") without asking: the send handler decides.
    compose(outlook.open(), "Filed by default")
    set_to(outlook, CRM_CONTACT)
    send_and_wait(outlook, "sent")
    assert set(sent_copy(outlook)["categories"]) & {"Sync to CRM", "Synced to CRM"}


def test_reply_keeps_the_conversation_and_carries_the_choice(outlook):
    outlook.open().select("Plain: order confirmation from Northwind")
    original = outlook.page.evaluate(
        "() => window.outlookPage.messages.find((m) => m.id === window.outlookPage.selected[0])"
    )
    outlook.page.locator("#compose-reply").click()
    outlook.page.locator("#compose").wait_for(state="visible")
    assert outlook.page.locator("#compose-to").input_value() == CRM_CONTACT
    assert outlook.page.locator("#compose-subject").input_value().startswith("RE: ")
    send_and_wait(outlook, "sent")
    sent = sent_copy(outlook)
    token = outlook.emulator.graph_token(ADELE)
    stored = outlook.emulator.graph("GET", f"/me/messages/{sent['id']}", token, params={"$select": "conversationId"})
    assert stored.json()["conversationId"] == original["conversationId"]
    assert set(sent["categories"]) & {"Sync to CRM", "Synced to CRM"}


@pytest.fixture
def defaults(outlook):
    """The backend as `make run` configures it: Graph's notifications reach it, and opening
    the pane catches up and subscribes (the browser suite turns both off by default)."""
    config = outlook.backend.app.config
    saved = {name: config[name] for name in ("CATCH_UP_ON_OPEN", "NOTIFICATION_BASE_URL")}
    config.update(CATCH_UP_ON_OPEN=True, NOTIFICATION_BASE_URL=outlook.backend.url)
    yield outlook
    config.update(saved)


def test_with_the_default_settings_a_message_sent_with_the_pane_closed_is_filed_and_linked(defaults):
    # `make run`'s settings: Graph's notifications reach the backend, which files the sent copy.
    outlook = defaults
    case_id = api(outlook, "POST", "/cases", json={"title": "Northwind follow-up"})["id"]
    outlook.open().select("Plain: order confirmation from Northwind").open_pane()  # first use subscribes
    outlook.page.locator("#taskpane-close").click()
    compose(outlook, "Follow-up for Northwind")
    open_compose_pane(outlook)
    set_to(outlook, CRM_CONTACT)
    assert wait_until(lambda: outlook.pane.locator("#compose-file").is_checked())
    outlook.pane.locator("#link-case").select_option(str(case_id))
    assert wait_until(lambda: draft(outlook)["properties"].get("crm_case_id") == case_id)
    outlook.page.locator("#taskpane-close").click()
    send_and_wait(outlook, "sent")
    sent_id = outlook.page.evaluate("() => window.outlookPage.sent.at(-1).id")
    filed = wait_until(
        lambda: (m := graph_message(outlook.emulator, ADELE, sent_id))["crm_state"] == "synced" and m, timeout=60
    )
    assert filed, "the sent message was not filed"
    links = api(outlook, "GET", f"/emails/{filed['crm_email_id']}/links")["links"]
    # Linked to the case the pane chose (and, as any filed email, to the recipients' contacts).
    assert [link["target_id"] for link in links if link["target_type"] == "case"] == [case_id]
