"""The pane's actions follow the message's state, under the default settings (automatic sync
off): one row of buttons at the pane's normal width, the primary action first, a sentence that
says truthfully what will happen next, long text that never pushes the pane sideways, and
messages that name the party that is busy. Each test asserts what the user sees and what the
mailbox holds."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_taskpane import ATTACHMENTS, NORTHWIND, expect_state, pane_frame, pane_shot
from tests.support.emulated_messages import new_message
from tests.support.identities import ADELE
from tests.support.outlook_page import graph_message, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

PANE_WIDTH = 320  # Outlook's task pane at its normal width
CATEGORISED = "Hard case: categorised Sync to CRM"

ROW = """() => {
  const row = document.getElementById('actions');
  const shown = [...row.children].filter((el) => el.tagName === 'BUTTON' && el.offsetParent !== null);
  return {
    tops: shown.map((el) => el.getBoundingClientRect().top),
    ids: shown.map((el) => el.id),
    labels: shown.map((el) => el.textContent.trim()),
    primary: shown.filter((el) => el.classList.contains('primary')).map((el) => el.textContent.trim()),
    overflow: row.scrollWidth - row.clientWidth,
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}"""


def narrow_pane(outlook, width: int = PANE_WIDTH):
    outlook.page.evaluate(f"() => {{ document.getElementById('taskpane').style.width = '{width}px'; }}")
    assert wait_until(lambda: pane_frame(outlook).evaluate("window.innerWidth") <= width)


def action_row(outlook) -> dict:
    return pane_frame(outlook).evaluate(ROW)


def assert_one_row(outlook) -> dict:
    row = action_row(outlook)
    assert row["tops"], "no action shown"
    assert len(set(row["tops"])) == 1, f"the actions wrap onto {len(set(row['tops']))} rows: {row}"
    assert row["overflow"] <= 0 and row["pageOverflow"] <= 0, row
    assert len(row["primary"]) == 1, row
    return row


def note(outlook) -> str:
    return outlook.pane.locator("#state-note").inner_text()


# ---------------------------------------------------------------- the state -> actions table


@pytest.mark.parametrize("lang", ["en-US", "pl-PL", "cs-CZ"])
def test_the_actions_follow_the_state_in_one_row_at_320_px(outlook, lang):
    outlook.open(lang=lang).select(NORTHWIND).open_pane()
    narrow_pane(outlook)
    outlook.pane.locator("#state[data-situation='unfiled']").wait_for()
    unfiled = assert_one_row(outlook)
    assert unfiled["ids"][0] == "btn-sync"
    assert outlook.pane.locator("#btn-more-actions").is_visible()

    outlook.pane.locator("#btn-sync").click()
    outlook.pane.locator("#state[data-situation='filed']").wait_for()
    filed = assert_one_row(outlook)
    assert filed["ids"][0] == "btn-open", "after filing the primary action is Open in CRM"
    assert "btn-mark-synced" not in filed["ids"] and outlook.pane.locator("#btn-mark-synced").is_hidden()
    opens = outlook.pane.locator("#single").get_by_text(re.compile(r"^(Open in CRM|Otwórz w CRM|Otevřít v CRM)$"))
    assert opens.count() == 1, "Open in CRM appears once"
    if lang == "en-US":
        assert filed["labels"][:2] == ["Open in CRM", "Sync again"]
        pane_shot(outlook, "pane-synced-actions")


def test_filed_email_opens_in_the_crm_from_its_primary_action(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    outlook.pane.locator("#btn-sync").click()
    expect_state(outlook, "Synced")
    outlook.pane.locator("#actions > #btn-open.primary").click()
    opened = wait_until(lambda: outlook.page.evaluate("() => window.outlookPage.openedUrls"))
    stored = graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND))
    assert opened and opened[-1].endswith(f"/emails/{stored['crm_email_id']}")


# ---------------------------------------------------------------- truthful next steps


def test_marked_unsynced_with_automatic_sync_off_says_filing_is_under_way_and_files_now(outlook):
    # Marking unsynced puts the "Sync to CRM" category on the message: a command the backend
    # acts on whatever the automatic-sync setting, so the truthful words are "being filed".
    outlook.open().select(ATTACHMENTS).open_pane()
    narrow_pane(outlook)
    expect_state(outlook, "Not synced")
    message_id = outlook.message_id(ATTACHMENTS)

    outlook.action("#btn-mark-unsynced")
    expect_state(outlook, "Waiting for sync")
    assert note(outlook) == "Filing in the CRM…"
    row = assert_one_row(outlook)
    assert row["labels"][0] == "File now"
    assert "btn-mark-unsynced" not in row["ids"] and outlook.pane.locator("#btn-mark-unsynced").is_hidden()
    pane_shot(outlook, "pane-pending-auto-sync-off")
    assert graph_message(outlook.emulator, ADELE, message_id)["crm_state"] == "pending"

    outlook.pane.locator("#btn-sync", has_text="File now").click()
    expect_state(outlook, "Synced")
    assert outlook.pane.locator("#state-note").is_hidden()
    stored = graph_message(outlook.emulator, ADELE, message_id)
    assert stored["crm_state"] == "synced" and stored["crm_email_id"]


def test_marking_a_filed_email_unsynced_says_it_will_be_filed_again(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    outlook.pane.locator("#btn-sync").click()
    expect_state(outlook, "Synced")
    message_id = outlook.message_id(NORTHWIND)
    filed_id = graph_message(outlook.emulator, ADELE, message_id)["crm_email_id"]

    outlook.action("#btn-mark-unsynced")
    expect_state(outlook, "Will sync again")
    assert note(outlook) == (
        "This email will be filed again in a moment, picking up contacts added since, then marked synced again."
    )
    assert outlook.pane.locator("#btn-mark-synced").is_hidden()
    assert action_row(outlook)["labels"][0] == "File now"

    outlook.pane.locator("#btn-sync", has_text="File now").click()
    expect_state(outlook, "Synced")
    stored = graph_message(outlook.emulator, ADELE, message_id)
    assert stored["crm_state"] == "synced" and stored["crm_email_id"] == filed_id, "filed again as the same email"


def test_marked_unsynced_with_automatic_sync_on_says_the_next_automatic_sync(outlook):
    outlook.open().select(ATTACHMENTS).open_pane()
    expect_state(outlook, "Not synced")
    outlook.pane.locator("#more summary").click()
    outlook.pane.locator("input[name='auto_sync'][value='marked']").check()
    outlook.pane.locator("#status", has_text="Saved").wait_for()

    answers = []
    outlook.page.on(
        "response",
        lambda r: answers.append(r) if r.request.method == "POST" and r.url.endswith("/state") else None,
    )
    outlook.action("#btn-mark-unsynced")
    outlook.pane.locator("#state[data-situation]:not([data-situation='unfiled'])").wait_for()
    body = wait_until(lambda: answers and answers[0].json())
    if "auto_sync" not in body:
        pytest.skip("the backend does not report the user's automatic sync mode in the message view yet")
    assert body["auto_sync"] == "marked"
    if body["state"] == "pending":
        assert note(outlook) == "This email will be filed at the next automatic sync."
        assert action_row(outlook)["labels"][0] == "File now"
    else:  # the catch-up round already filed it
        expect_state(outlook, "Synced")


def test_a_message_categorised_sync_to_crm_shows_filing_under_way(outlook):
    answers = []
    outlook.page.on(
        "response",
        lambda r: answers.append(r) if r.request.method == "GET" and "/api/v1/messages/" in r.url else None,
    )
    outlook.open().select(CATEGORISED).open_pane()
    outlook.pane.locator("#state[data-situation]:not([data-situation='loading'])").wait_for()
    body = wait_until(lambda: answers and answers[0].json())
    if "filing_queued" not in body:
        pytest.skip("the backend does not report filing_queued in the message view yet")
    if body["filing_queued"]:
        assert note(outlook) == "Filing in the CRM…"
        assert action_row(outlook)["labels"][0] == "File now"
        pane_shot(outlook, "pane-filing-queued")
    else:  # filed before the pane asked
        assert body["crm_email_id"]
        assert action_row(outlook)["ids"][0] == "btn-open"


# ---------------------------------------------------------------- long text


def test_a_512_character_name_and_subject_never_scroll_the_pane_sideways(outlook):
    name = "Bartholomew-" + "x" * 500  # no break point at all: the hardest case
    subject = " ".join(["Quarterly-report-for-the-northern-region"] * 13)[:512]
    sender = "lynne.robbins@northwind.example"
    message = new_message(sender, subject)
    message["from"]["emailAddress"]["name"] = name
    outlook.emulator.deliver(ADELE, message)
    outlook.open().select(subject[:40]).open_pane()
    narrow_pane(outlook)
    expect_state(outlook, "Not synced")
    person = outlook.pane.locator(f".person[data-address='{sender}'] .person-name")
    person.wait_for()
    frame = pane_frame(outlook)
    overflow = frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the pane scrolls sideways by {overflow} px"
    assert person.get_attribute("title") == name, "the whole name is in the tooltip"
    assert outlook.pane.locator("#subject").get_attribute("title") == subject
    box = person.bounding_box()
    assert box["width"] <= PANE_WIDTH and box["height"] <= 3 * 22, "the name is cut after two lines"
    assert outlook.pane.locator("#subject").bounding_box()["height"] <= 5 * 22, "the subject is cut after four lines"
    assert_one_row(outlook)
    pane_shot(outlook, "pane-long-name")


# ---------------------------------------------------------------- who is busy


def test_a_busy_or_silent_microsoft_365_is_named_not_the_crm(outlook):
    outlook.open().select(NORTHWIND).open_pane().pin()
    expect_state(outlook, "Not synced")
    outlook.emulator.fault(path=r"^/v1\.0/.*messages/", method="PATCH", kind="429", retry_after=6, count=1)
    outlook.pane.locator("#btn-sync").click()
    busy = outlook.pane.locator("#status", has_text=re.compile(r"Microsoft 365 is busy, retrying in \d+ s"))
    busy.wait_for(timeout=15_000)
    assert "CRM" not in outlook.pane.locator("#status").inner_text()
    expect_state(outlook, "Synced", timeout=30_000)

    # Graph unavailable past the backend's own retries: the wait names Microsoft 365 too.
    outlook.select(ATTACHMENTS)
    expect_state(outlook, "Not synced")
    outlook.emulator.fault(path=r"^/v1\.0/.*messages/", method="PATCH", kind="503", retry_after=6, count=50)
    outlook.pane.locator("#btn-sync").click()
    busy.wait_for(timeout=30_000)
    outlook.emulator.clear_faults()
    expect_state(outlook, "Synced", timeout=40_000)
    assert outlook.pane.locator("#alert").is_hidden()


# ---------------------------------------------------------------- the ribbon


def test_each_ribbon_command_shows_its_own_icon(outlook):
    outlook.open().select(NORTHWIND)
    icons = outlook.page.evaluate(
        """() => [...document.querySelectorAll('#ribbon button[data-control-id]')].map((b) => {
             const img = b.querySelector('img');
             return [b.dataset.controlId, img ? img.src : '', img ? img.naturalWidth : 0];
           })"""
    )
    assert len(icons) == 7, icons
    sources = [src for _, src, _ in icons]
    assert all(src for src in sources) and len(set(sources)) == 7, icons
    assert all(width == 16 for _, _, width in icons if width), icons
    outlook.page.locator("#ribbon-crmSyncButton img").evaluate("(img) => img.decode()")
    outlook.screenshot("outlook-ribbon-icons")
