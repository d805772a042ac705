"""The filed email's attachments in the pane, in a real browser: listed with their size
and state (inline images left to the body), and a stored one opens in the CRM."""

from __future__ import annotations

import pytest

from server.crm.models import Email
from server.db import session_scope
from tests.support.arrange_attachments import PNG, attach
from tests.support.identities import ADELE
from tests.support.outlook_page import graph_message
from tests.support.pane_page import expect_state

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

NORTHWIND = "Plain: order confirmation from Northwind"


def test_the_pane_lists_the_filed_emails_attachments_and_opens_one_in_the_crm(outlook):
    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Not synced")
    outlook.pane.locator("#btn-sync").click()
    expect_state(outlook, "Synced")
    outlook.pane.locator("#filed-section").wait_for()
    assert outlook.pane.locator("#filed-attachments").is_hidden()  # nothing recorded yet
    email_id = int(graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND))["crm_email_id"])
    with session_scope(outlook.backend.app) as session:
        email = session.get(Email, email_id)
        quote = attach(session, email, "Quote 42.pdf", b"%PDF-1.7 " * 300).id
        attach(session, email, "order.xlsx", None, content_type="application/vnd.ms-excel", size=5 * 1024 * 1024)
        attach(session, email, "logo.png", PNG, content_type="image/png", inline=True, content_id="logo")

    outlook.open().select(NORTHWIND).open_pane()
    expect_state(outlook, "Synced")
    rows = outlook.pane.locator("#filed-attachments li")
    rows.nth(1).wait_for()
    assert rows.count() == 2
    assert outlook.pane.locator("#filed-attachments-title").inner_text() == "Attachments"
    stored = outlook.pane.locator('#filed-attachments li[data-state="stored"]')
    assert stored.inner_text() == "Quote 42.pdf · 2.6 KB"
    pending = outlook.pane.locator('#filed-attachments li[data-state="pending"]')
    assert pending.inner_text() == "order.xlsx · 5 MB · still being fetched"
    assert pending.locator("a").count() == 0

    with outlook.context.expect_page():
        stored.locator("a").click()
    opened = outlook.page.evaluate("() => window.outlookPage.openedUrls")
    assert opened == [f"{outlook.backend.url}/crm/attachments/{quote}"]
