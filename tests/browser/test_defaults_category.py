"""The right-click category command with the default settings of `make run`, nothing
switched on first: Categorize -> "Sync to CRM" files the message in the CRM and it
shows "Synced to CRM"; Categorize -> "Don't sync to CRM" marks it never to be filed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.crm.models import Email, Subscription, User
from server.db import session_scope
from tests.browser.test_taskpane import ATTACHMENTS, NORTHWIND, expect_state
from tests.support.identities import ADELE
from tests.support.outlook_page import graph_message, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture
def defaults(outlook):
    """The backend as `make run` configures it: Graph's notifications reach it, and
    opening the pane catches up and subscribes (the browser suite turns both off for
    the tests that count Graph calls)."""
    config = outlook.backend.app.config
    saved = {name: config[name] for name in ("CATCH_UP_ON_OPEN", "NOTIFICATION_BASE_URL")}
    config.update(CATCH_UP_ON_OPEN=True, NOTIFICATION_BASE_URL=outlook.backend.url)
    yield outlook
    config.update(saved)


def subscribed(app) -> bool:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(Subscription)) == 2


def auto_sync(app) -> str:
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.upn == ADELE))
        return user.effective_settings()["auto_sync"]


def crm_email(app, subject: str) -> int | None:
    with session_scope(app) as session:
        return session.scalar(select(Email.id).where(Email.subject == subject))


def categorize(outlook, subject: str, category: str) -> None:
    outlook.row(subject).click(button="right")
    menu = outlook.page.locator("#context-menu")
    menu.wait_for()
    menu.locator(f'button[data-category="{category}"]').click()


def test_right_click_sync_and_dont_sync_work_with_the_default_settings(defaults):
    outlook = defaults
    app = outlook.backend.app
    outlook.open().select(NORTHWIND).open_pane()  # the user's first use of the add-in
    expect_state(outlook, "Not synced")
    assert auto_sync(app) == "off"
    assert wait_until(lambda: subscribed(app), timeout=30), "the mailbox was not subscribed on first use"

    categorize(outlook, NORTHWIND, "Sync to CRM")

    stored = wait_until(
        lambda: (
            (m := graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND)))["crm_state"] == "synced" and m
        ),
        timeout=60,
    )
    assert stored, "the category command did not file the message"
    assert "Synced to CRM" in stored["categories"] and "Sync to CRM" not in stored["categories"]
    assert crm_email(app, NORTHWIND) is not None and str(crm_email(app, NORTHWIND)) == stored["crm_email_id"]
    outlook.open()  # Outlook shows the mailbox as it is now
    outlook.row(NORTHWIND).locator(".category", has_text="Synced to CRM").wait_for()
    outlook.select(NORTHWIND).open_pane()
    expect_state(outlook, "Synced")

    categorize(outlook, ATTACHMENTS, "Don't sync to CRM")

    excluded = wait_until(
        lambda: (
            (m := graph_message(outlook.emulator, ADELE, outlook.message_id(ATTACHMENTS)))["crm_state"] == "excluded"
            and m
        ),
        timeout=60,
    )
    assert excluded and not excluded["crm_email_id"], "Don't sync to CRM did not mark it"
    assert "Don't sync to CRM" in excluded["categories"]
    assert crm_email(app, ATTACHMENTS) is None
    assert auto_sync(app) == "off"  # nothing was switched on along the way
