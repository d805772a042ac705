"""The add-in in a real browser: the task pane and ribbon commands on the emulated Outlook,
calling the real backend, checked against what the emulated mailbox holds afterwards."""

from __future__ import annotations

import re

import pytest

from tests.support.identities import ADELE
from tests.support.outlook_page import graph_message, wait_until
from tests.support.pane_page import (
    ALIAS,
    ATTACHMENTS,
    FOCUS_INFO,
    MEGAN_NOTE,
    MIXED_CASE,
    NORTHWIND,
    expect_state,
    pane_frame,
    pane_shot,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# 1 --------------------------------------------------------------------------------------


def test_sync_shows_contact_and_company_and_second_sync_changes_nothing(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    people = outlook.pane.locator("#people")
    people.locator("a", has_text="Lynne Robbins").wait_for()
    assert people.locator("a", has_text="Northwind Traders").count() >= 1
    expect_state(outlook, "Not synced")
    pane_shot(outlook, "pane-not-synced")

    outlook.pane.locator("#btn-sync").click()
    expect_state(outlook, "Synced")
    # Filed: Open in CRM is the primary action, offered once (no separate link), and Mark as synced is gone.
    assert outlook.pane.locator("#actions > #btn-open.primary").is_visible()
    assert outlook.pane.locator("#single a, #single button:visible", has_text="Open in CRM").count() == 1
    assert outlook.pane.locator("#btn-mark-synced").is_hidden()
    assert outlook.pane.locator("#btn-sync.primary").count() == 0
    message_id = outlook.message_id(NORTHWIND)
    stored = graph_message(outlook.emulator, ADELE, message_id)
    assert "Synced to CRM" in stored["categories"]
    assert stored["crm_state"] == "synced"
    assert stored["crm_email_id"]
    pane_shot(outlook, "pane-synced")
    outlook.screenshot("outlook-page")

    outlook.emulator.clear_requests()
    outlook.pane.locator("#btn-sync").click()
    outlook.pane.locator("#status", has_text="Synced to the CRM").wait_for()
    expect_state(outlook, "Synced")
    assert outlook.emulator.requests(method="PATCH") == []
    again = graph_message(outlook.emulator, ADELE, message_id)
    assert again["crm_email_id"] == stored["crm_email_id"]
    assert again["categories"] == stored["categories"]


def test_opening_reads_the_message_and_its_outlook_contacts_in_one_graph_request(outlook):
    """The pane sends the people Office.js shows, so the backend reads the message and
    their Outlook contacts in one $batch (one Graph request per open keeps opening fast;
    bench/b1_pane_api.py measures it)."""
    opened = []
    outlook.page.on(
        "request",
        lambda r: (
            opened.append(r.url) if r.method == "GET" and re.search(r"/api/v1/messages/[^/?]+(\?|$)", r.url) else None
        ),
    )
    outlook.open().select(NORTHWIND)
    outlook.emulator.clear_requests()
    outlook.open_pane()
    outlook.pane.locator("#people a", has_text="Lynne Robbins").wait_for()
    expect_state(outlook, "Not synced")

    assert opened and "people=" in opened[0] and "lynne.robbins%40northwind.example" in opened[0].lower()
    log = outlook.emulator.requests()
    batches: dict = {}
    for r in log:
        if r.get("in_batch"):
            batches.setdefault(r["batch_id"], set()).add(
                "message" if "/messages/" in r["path"] else "contacts" if r["path"].endswith("/contacts") else r["path"]
            )
    assert {"message", "contacts"} in batches.values(), batches


# 2 --------------------------------------------------------------------------------------


def test_mark_unsynced_then_synced_agrees_with_the_mailbox(outlook):
    outlook.open().select(ATTACHMENTS).open_pane()
    expect_state(outlook, "Not synced")
    message_id = outlook.message_id(ATTACHMENTS)

    outlook.action("#btn-mark-unsynced")
    expect_state(outlook, "Waiting for sync")
    assert wait_until(lambda: graph_message(outlook.emulator, ADELE, message_id)["crm_state"] == "pending")

    outlook.action("#btn-mark-synced")
    expect_state(outlook, "Marked as synced")
    stored = wait_until(
        lambda: (m := graph_message(outlook.emulator, ADELE, message_id))["crm_state"] == "excluded" and m
    )
    assert stored, "the mailbox does not say excluded"
    assert not stored["crm_email_id"], "marking synced must not file a CRM copy"
    pane_shot(outlook, "pane-marked-synced")


# 3 --------------------------------------------------------------------------------------


def test_ribbon_sync_command_notifies_and_changes_state(outlook):
    outlook.open().select(ALIAS)
    outlook.ribbon("Sync to CRM").click()
    outlook.page.wait_for_selector("body[data-command='syncToCrm:completed']", timeout=20_000)
    note = outlook.page.locator("#notifications .notification")
    note.wait_for()
    assert "Synced to CRM" in note.inner_text()
    stored = graph_message(outlook.emulator, ADELE, outlook.message_id(ALIAS))
    assert stored["crm_state"] == "synced"
    assert "Synced to CRM" in stored["categories"]
    outlook.open_pane()
    expect_state(outlook, "Synced")
    outlook.screenshot("ribbon-command-notification")


# 4 --------------------------------------------------------------------------------------


def test_multi_select_syncs_five_messages_with_one_batch(outlook):
    subjects = [NORTHWIND, MEGAN_NOTE, ALIAS, ATTACHMENTS, MIXED_CASE]
    outlook.open().select(subjects[0])
    for subject in subjects[1:]:
        outlook.select(subject, add=True)
    outlook.open_pane()
    outlook.pane.locator("#multi-title", has_text="5 messages selected").wait_for()
    calls = []
    outlook.page.on("request", lambda r: calls.append(r.url) if "/api/v1/messages/batch-sync" in r.url else None)
    outlook.emulator.clear_requests()

    outlook.pane.locator("#multi-sync").click()
    outlook.pane.locator("#multi-summary", has_text="of 5").wait_for(timeout=30_000)
    results = outlook.pane.locator("#multi-list .result")
    assert results.count() == 5
    assert [results.nth(i).get_attribute("data-result") for i in range(5)] == ["done"] * 5
    assert len(calls) == 1, calls
    # One $batch reads the five messages and one marks them (at 20 requests per $batch, a
    # batch of 100 costs at most ten); nothing goes to Graph one message at a time. The
    # attachments message's three small files come in one more $batch of their own.
    log = outlook.emulator.requests()
    batches = [r for r in log if r["path"].endswith("/$batch")]
    contents = {r["batch_id"] for r in log if r.get("in_batch") and r["path"].endswith("/$value")}
    reads = [
        r
        for r in log
        if r.get("in_batch") and r["method"] == "GET" and "/messages/" in r["path"] and "/attachments/" not in r["path"]
    ]
    marks = [r for r in log if r.get("in_batch") and r["method"] == "PATCH"]
    single = [r for r in log if not r.get("in_batch") and re.search(r"/messages/[^/]+$", r["path"])]
    assert len(contents) == 1, contents
    assert len(batches) <= 2 + len(contents), batches
    assert len({r["batch_id"] for r in reads}) <= 1 and len({r["batch_id"] for r in marks}) <= 1
    assert single == [], single
    pane_shot(outlook, "pane-multi-select")


# 5 --------------------------------------------------------------------------------------

WATCH_PEOPLE = """() => {
  window.__frames = [];
  const record = () => window.__frames.push({
    subject: document.getElementById('subject').textContent,
    people: document.getElementById('people').textContent,
  });
  new MutationObserver(record).observe(document.getElementById('app'), {subtree: true, childList: true, characterData: true});
}"""


def test_pinned_pane_follows_the_selection_without_a_flash_of_old_people(outlook):
    outlook.open().select(NORTHWIND).open_pane().pin()
    outlook.pane.locator("#people a", has_text="Lynne Robbins").wait_for()
    # Slow Graph down so the old and new answers could overlap.
    outlook.emulator.fault(path=r"^/v1\.0/.*messages/", method="GET", kind="latency", latency_ms=700)
    frame = pane_frame(outlook)
    frame.evaluate(WATCH_PEOPLE)

    outlook.select(ATTACHMENTS)
    outlook.pane.locator("#people .skeleton").first.wait_for()
    pane_shot(outlook, "pane-loading-skeleton")
    outlook.pane.locator("#people a", has_text="Diego Siciliani").wait_for()
    outlook.pane.locator("#subject", has_text=ATTACHMENTS).wait_for()
    frames = frame.evaluate("() => window.__frames")
    assert frames, "the pane did not change"
    for seen in frames:
        if seen["subject"] == ATTACHMENTS:
            assert "Lynne Robbins" not in seen["people"], "old people shown under the new subject"
        if "Lynne Robbins" in seen["people"]:
            assert seen["subject"] == NORTHWIND


def test_switching_messages_during_an_action_leaves_the_new_message_usable(outlook):
    outlook.open().select(NORTHWIND).open_pane().pin()
    expect_state(outlook, "Not synced")
    outlook.emulator.fault(path=r"^/v1\.0/.*messages/", method="PATCH", kind="latency", latency_ms=1500, count=1)
    outlook.pane.locator("#btn-sync").click()
    outlook.select(ATTACHMENTS)
    outlook.pane.locator("#people a", has_text="Diego Siciliani").wait_for()
    expect_state(outlook, "Not synced")
    outlook.action("#btn-mark-unsynced")
    expect_state(outlook, "Waiting for sync")
    assert "Lynne Robbins" not in outlook.pane.locator("#people").inner_text()
    # The pane dropped the answer, not the work: the first message is synced all the same
    # (and waiting for it keeps its late PATCH out of the next test).
    assert wait_until(
        lambda: graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND))["crm_state"] == "synced"
    )


# 6 --------------------------------------------------------------------------------------


def test_graph_throttling_shows_the_wait_then_succeeds_on_its_own(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    # Longer than the backend waits (GRAPH_MAX_WAIT_S): the pane is told when to retry.
    outlook.emulator.fault(path=r"^/v1\.0/.*messages/", method="PATCH", kind="429", retry_after=6, count=1)

    outlook.pane.locator("#btn-sync").click()
    busy = outlook.pane.locator("#status", has_text=re.compile(r"Microsoft 365 is busy, retrying in \d+ s"))
    busy.wait_for(timeout=15_000)
    pane_shot(outlook, "pane-busy-retrying")
    expect_state(outlook, "Synced", timeout=30_000)
    assert outlook.pane.locator("#alert").is_hidden()
    assert graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND))["crm_state"] == "synced"


# 7 --------------------------------------------------------------------------------------


def test_backend_down_gives_a_clear_error_with_retry(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    outlook.backend.stop()
    try:
        outlook.pane.locator("#btn-sync").click()
        alert = outlook.pane.locator("#alert")
        alert.wait_for()
        assert "Can't reach the CRM" in alert.inner_text()
        text = alert.inner_text()
        assert "{" not in text and "Traceback" not in text and "Error:" not in text
        retry = outlook.pane.locator("#alert-action")
        assert retry.inner_text() == "Retry"
        pane_shot(outlook, "pane-error-retry")
    finally:
        outlook.backend.start()
    outlook.pane.locator("#alert-action").click()
    expect_state(outlook, "Synced")


# 8 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, expected",
    [
        (
            "pl-PL",
            {
                "#btn-sync": "Zapisz w CRM",
                "#btn-mark-synced": "Oznacz jako zapisane",
                "#btn-mark-unsynced": "Oznacz jako niezapisane",
                "#btn-open": "Otwórz w CRM",
                "#people-title": "Osoby",
            },
        ),
        ("cs-CZ", {"#btn-sync": "Uložit do CRM", "#people-title": "Lidé"}),
        ("de-DE", {"#btn-sync": "Sync to CRM", "#people-title": "People"}),
    ],
)
def test_display_language_chooses_the_strings(outlook, lang, expected):
    outlook.open(lang=lang).select(NORTHWIND).open_pane()
    for selector, text in expected.items():
        assert outlook.pane.locator(selector).inner_text() == text, selector
    if lang == "pl-PL":
        assert outlook.page.locator("#taskpane-title").inner_text() == "Panel CRM"  # manifest override
        expect_state(outlook, "Niezapisane")
        assert pane_frame(outlook).evaluate("document.documentElement.lang") == "pl"
        pane_shot(outlook, "pane-polish")


# 9 --------------------------------------------------------------------------------------


def test_keyboard_alone_reaches_and_runs_every_action(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    outlook.pane.locator("#people a", has_text="Lynne Robbins").wait_for()
    frame = pane_frame(outlook)
    frame.evaluate("() => { document.body.tabIndex = -1; document.body.focus(); }")

    reached = {}
    for _ in range(25):
        outlook.page.keyboard.press("Tab")
        info = frame.evaluate(FOCUS_INFO)
        if not info:
            break
        key = info["id"] or info["text"]
        if key in reached:
            break
        reached[key] = info
        if key == "btn-more-actions":
            # The actions that do not fit the row are one Enter away, then Tab goes through them.
            outlook.page.keyboard.press("Enter")
            info = frame.evaluate(FOCUS_INFO)
            reached[info["id"] or info["text"]] = info
    for button in ("btn-sync", "btn-mark-synced", "btn-mark-unsynced", "btn-open"):
        assert button in reached, f"{button} is not reachable with Tab: {list(reached)}"
        assert reached[button]["outline"], f"{button} shows no focus ring"
    assert "Lynne Robbins" in reached and "Northwind Traders" in reached
    assert all(info["label"] for info in reached.values()), "an element has no accessible name"
    assert frame.evaluate("document.getElementById('status').getAttribute('aria-live')") == "polite"

    if not frame.is_visible("#btn-mark-unsynced"):
        frame.focus("#btn-more-actions")
        outlook.page.keyboard.press("Enter")
    frame.focus("#btn-mark-unsynced")
    outlook.page.keyboard.press("Enter")
    expect_state(outlook, "Waiting for sync")
    frame.focus("#btn-sync")
    outlook.page.keyboard.press("Space")
    expect_state(outlook, "Synced")


def test_dark_office_theme_gives_the_dark_pane(outlook):
    outlook.open(theme="dark").select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    assert pane_frame(outlook).evaluate("document.documentElement.dataset.theme") == "dark"
    background = pane_frame(outlook).evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(41, 41, 41)"
    pane_shot(outlook, "pane-dark")


def test_pane_outside_outlook_shows_the_sideload_block(outlook):
    page = outlook.page
    page.goto(f"{outlook.backend.url}/addin/taskpane/taskpane.html")
    page.locator("#sideload").wait_for()
    assert page.locator("#app").is_hidden()
