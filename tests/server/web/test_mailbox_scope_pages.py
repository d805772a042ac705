"""The admin's view of a tenant that scopes the app's own access to some mailboxes:
Test connection says whether it is scoped ("all", "N of M", "none") and records what it
found for each mailbox, the jobs page lists the mailboxes outside the scope, and bulk
sync of such a mailbox is refused up front with the reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from server.crm.models import User
from server.crm.types import utcnow
from server.db import session_scope
from tests.support.connection_checks import checks_of
from tests.support.identities import ADELE, CONTOSO, MEGAN

OUTSIDE = "Mailboxes outside the app's access"
DELEGATED = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "offline_access"]


@pytest.fixture
def scope(emulator, clean_state):
    """`scope(mailboxes)`: Contoso's Exchange lets the app into those mailboxes only."""
    yield lambda mailboxes: emulator.mailbox_scope(CONTOSO, mailboxes, group="crm-sync@contoso.com")
    emulator.mailbox_scope(CONTOSO, None)


def refused_at(app, upn: str):
    with session_scope(app) as session:
        return session.scalar(select(User.app_access_refused_at).where(User.tenant_id == CONTOSO, User.upn == upn))


def mark_refused(app, upn: str) -> None:
    with session_scope(app) as session:
        now = utcnow()
        session.execute(
            update(User)
            .where(User.tenant_id == CONTOSO, User.upn == upn)
            .values(app_access_refused_at=now, app_access_checked_at=now)
        )
        session.commit()


def test_test_connection_says_how_many_mailboxes_the_scope_allows(app, browser, scope):
    adele = browser(ADELE)
    browser(MEGAN)
    scope([ADELE])
    status, text = checks_of(adele.test_connection())["Mailbox access"]
    assert status == "ok"
    assert "Access is scoped: 1 of 2 mailboxes allowed." in text
    assert "Automatic sync is not allowed for this mailbox by your organisation: Megan Bowen" in text
    # What it found is recorded: Megan's mailbox is now left alone by automatic sync.
    assert refused_at(app, MEGAN) is not None and refused_at(app, ADELE) is None


def test_test_connection_says_all_when_nothing_is_scoped_and_clears_an_old_refusal(app, browser, scope):
    adele = browser(ADELE)
    browser(MEGAN)
    mark_refused(app, MEGAN)
    status, text = checks_of(adele.test_connection())["Mailbox access"]
    assert status == "ok"
    assert "The app may open all 2 mailboxes of CRM users it tried" in text
    assert refused_at(app, MEGAN) is None  # allowed again: automatic sync resumes


def test_test_connection_says_none_when_the_scope_leaves_out_every_user(app, browser, scope):
    adele = browser(ADELE)
    browser(MEGAN)
    scope([])
    status, text = checks_of(adele.test_connection())["Mailbox access"]
    assert status == "failed"
    assert "Access is scoped to no mailbox of a CRM user" in text
    assert "an Exchange administrator adds them to the group" in text


def test_the_jobs_page_lists_the_mailboxes_outside_the_scope(app, browser, clean_state):
    adele = browser(ADELE)
    browser(MEGAN)
    assert OUTSIDE not in adele.get("/crm/admin/jobs").get_data(as_text=True)
    mark_refused(app, MEGAN)
    page = adele.get("/crm/admin/jobs").get_data(as_text=True)
    assert OUTSIDE in page
    listed = page.split('class="rows compact out-of-scope"', 1)[1].split("</ul>", 1)[0]
    assert "Megan Bowen" in listed and MEGAN in listed and "Adele" not in listed


def test_bulk_sync_of_the_admins_own_out_of_scope_mailbox_is_refused_with_the_reason(app, browser, clean_state):
    adele = browser(ADELE)
    mark_refused(app, ADELE)
    response = adele.post_form(
        "/crm/admin/bulk-sync", {"folder": "inbox", "since": "2026-01-01"}, token_from="/crm/admin/jobs"
    )
    assert response.status_code == 400
    assert "Automatic sync is not allowed for your mailbox by your organisation" in response.get_data(as_text=True)


def test_test_connection_tells_rbac_for_applications_from_missing_consent(app, browser, emulator, scope):
    adele = browser(ADELE)
    browser(MEGAN)
    # No application permission in Entra at all: nothing is scoped, consent is missing.
    emulator.consent(CONTOSO, scopes=DELEGATED, roles=[])
    status, text = checks_of(adele.test_connection())["Mailbox access"]
    assert status == "skipped" and "see Consent above" in text
    assert refused_at(app, MEGAN) is None
    # RBAC for Applications grants Adele's mailbox: Megan's plain 403 is now the scope.
    emulator.mailbox_scope(CONTOSO, [ADELE], kind="rbac")
    status, text = checks_of(adele.test_connection())["Mailbox access"]
    assert status == "ok" and "Access is scoped: 1 of 2 mailboxes allowed." in text
    assert refused_at(app, MEGAN) is not None
