"""The pane of a user whose mailbox the organisation keeps the app out of (Exchange's RBAC
for Applications or an application access policy: automatic sync stopped for it,
server/sync/app_access.py): it says so in the user's language, under the message and in
the automatic-sync setting, explains that its own commands still work, and they do:
Sync files the open message with the user's own token, and a folder sync is refused in
plain words."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from server.crm.models import User
from server.crm.tenants import get_or_create_user
from server.crm.types import utcnow
from server.db import session_scope
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.outlook_page import graph_message
from tests.support.pane_page import NORTHWIND, expect_state

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SENTENCES = {
    "en-US": (
        "Automatic sync is not allowed for this mailbox by your organisation",
        "they use your own sign-in",
        "Synced",
    ),
    "pl-PL": (
        "Twoja organizacja nie zezwala na automatyczny zapis z tej skrzynki",
        "używają Twojego własnego logowania",
        "Zapisane",
    ),
    "cs-CZ": (
        "Vaše organizace nepovoluje automatické ukládání z této schránky",
        "používají vaše vlastní přihlášení",
        "Uloženo",
    ),
}


@pytest.fixture
def out_of_scope(crm_app):
    """Adele's mailbox was found outside the app's scope before she opens the pane."""
    with session_scope(crm_app) as session:
        user = get_or_create_user(session, CONTOSO, ADELE_OID, ADELE, "Adele Vance")
        session.execute(update(User).where(User.id == user.id).values(app_access_refused_at=utcnow()))
        session.commit()


@pytest.mark.parametrize("lang", ["en-US", "pl-PL", "cs-CZ"])
def test_the_pane_says_automatic_sync_is_not_allowed_and_its_own_commands_still_work(outlook, out_of_scope, lang):
    blocked, still_works, synced = SENTENCES[lang]
    outlook.open(lang=lang).select(NORTHWIND).open_pane()
    pane = outlook.pane
    note = pane.locator("#state-note")
    note.filter(has_text=blocked).wait_for()
    assert still_works in note.inner_text()

    pane.locator("#btn-sync").click()  # the user's own command, on their own token
    expect_state(outlook, synced)
    assert graph_message(outlook.emulator, ADELE, outlook.message_id(NORTHWIND))["crm_state"] == "synced"
    assert blocked in note.inner_text()

    pane.locator("#more summary").click()
    setting = pane.locator("#auto-sync-blocked")
    setting.wait_for()
    assert blocked in setting.inner_text() and still_works in setting.inner_text()

    pane.locator("#bulk-since").fill("2026-01-01")
    pane.locator("#bulk-start").click()
    pane.locator("#bulk-form .inline-alert", has_text=blocked).wait_for()
