"""The admin's tenant default for automatic sync takes effect at once: the tenant's
signed-in users are subscribed by the job it queues, not at the hourly upkeep (which
never runs in tests: the embedded scheduler is off there), and switching it on files
the messages waiting for sync at once. Switched off, the users stay subscribed: the
category command works whatever the automatic-sync setting."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from server.crm.models import Subscription, SyncJob, User
from server.db import session_scope
from server.sync.delta import enqueue_catch_up
from tests.support.arrange_records import mark_pending_without_category
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.identities import ADELE, CONTOSO, MEGAN, PAT
from tests.support.signin_client import Browser
from tests.support.waiting import wait_idle

ADELES = "Plain: order confirmation from Northwind"
MEGANS = "Plain: hello Megan"


@pytest.fixture
def signed_in(app, emulator, clean_state):
    """`signed_in(upn)` -> a Browser signed in to the CRM pages (creating the user)."""

    def make(upn: str) -> Browser:
        person = Browser(app.test_client(), emulator)
        person.sign_in(upn)
        return person

    return make


def subscribed_upns(emulator) -> dict[str, list[str]]:
    """Graph's side: {upn: sorted folders of its subscriptions}."""
    by_oid = {u["oid"]: u["upn"] for u in emulator.users()}
    found: dict[str, list[str]] = {}
    for sub in emulator.admin("GET", "subscriptions").json()["subscriptions"]:
        folder = re.search(r"mailFolders\('([^']+)'\)", sub["resource"]).group(1).lower()
        found.setdefault(by_oid[sub["mailbox_oid"]], []).append(folder)
    return {upn: sorted(folders) for upn, folders in found.items()}


def stored_subscriptions(app) -> dict[str, list[str]]:
    with session_scope(app) as session:
        rows = session.execute(select(User.upn, Subscription.folder).join(User, User.id == Subscription.user_id))
        found: dict[str, list[str]] = {}
        for upn, folder in rows:
            found.setdefault(upn, []).append(folder)
    return {upn: sorted(folders) for upn, folders in found.items()}


def save_tenant(admin: Browser, auto_sync: str):
    response = admin.post_form(
        "/crm/settings/tenant", {"auto_sync": auto_sync, "never_sync": ""}, token_from="/crm/settings"
    )
    assert response.status_code == 303, response.get_data(as_text=True)


def user_id_of(app, upn: str) -> int:
    with session_scope(app) as session:
        return session.scalar(select(User.id).where(User.tenant_id == CONTOSO, User.upn == upn))


def waiting(app, emulator, upn: str, subject: str) -> str:
    """A message of the user's marked unsynced (pending, without our category)."""
    message_id = find_message(emulator, upn, subject)["id"]
    mark_pending_without_category(app, emulator, user_id_of(app, upn), message_id)
    return message_id


def state(emulator, upn: str, message_id: str) -> str | None:
    return outlook_state(emulator, upn, message_id)["state"]


def save_override(admin: Browser, app, upn: str, auto_sync: str):
    with session_scope(app) as session:
        user_id = session.scalar(select(User.id).where(User.tenant_id == CONTOSO, User.upn == upn))
    response = admin.post_form(
        f"/crm/settings/users/{user_id}",
        {"auto_sync": auto_sync, "auto_link_companies": "inherit", "never_sync": ""},
        token_from="/crm/settings",
    )
    assert response.status_code == 303, response.get_data(as_text=True)


def test_turning_the_tenant_default_on_subscribes_its_users_and_files_what_waits(app, emulator, signed_in):
    adele = signed_in(ADELE)  # holds the app role Crm.Admin: an admin
    signed_in(MEGAN)
    signed_in(PAT)  # another tenant: untouched
    both = {ADELE: ["inbox", "sentitems"], MEGAN: ["inbox", "sentitems"]}
    adeles, megans = waiting(app, emulator, ADELE, ADELES), waiting(app, emulator, MEGAN, MEGANS)
    wait_idle(app)
    assert state(emulator, ADELE, adeles) == state(emulator, MEGAN, megans) == "pending"

    save_tenant(adele, "known_contacts")
    wait_idle(app)
    assert subscribed_upns(emulator) == both
    assert stored_subscriptions(app) == both
    # Switched on: what waited is filed now, not at the next delta round.
    assert state(emulator, ADELE, adeles) == state(emulator, MEGAN, megans) == "synced"

    save_tenant(adele, "known_contacts")  # saved again: harmless, nothing doubled
    wait_idle(app)
    assert subscribed_upns(emulator) == both
    with session_scope(app) as session:
        tenant_jobs = session.scalars(
            select(SyncJob).where(SyncJob.kind == "subscriptions", SyncJob.user_id.is_(None))
        ).all()
        assert [(j.tenant_id, j.state) for j in tenant_jobs] == [(CONTOSO, "done")]

    # Switched off, everyone stays watched: the category command works in every mode.
    save_tenant(adele, "off")
    wait_idle(app)
    assert subscribed_upns(emulator) == both
    assert stored_subscriptions(app) == both


def test_a_users_own_setting_wins_and_its_change_by_the_admin_applies_at_once(app, emulator, signed_in, pane):
    adele = signed_in(ADELE)
    signed_in(MEGAN)
    adeles, megans = waiting(app, emulator, ADELE, ADELES), waiting(app, emulator, MEGAN, MEGANS)
    save_override(adele, app, MEGAN, "off")
    save_tenant(adele, "marked")
    wait_idle(app)
    assert state(emulator, ADELE, adeles) == "synced"
    assert state(emulator, MEGAN, megans) == "pending"  # the admin's "off" restricts her: nothing filed

    save_override(adele, app, MEGAN, "inherit")  # restriction lifted: the tenant's default applies, on
    wait_idle(app)
    assert state(emulator, MEGAN, megans) == "synced"
    both = {ADELE: ["inbox", "sentitems"], MEGAN: ["inbox", "sentitems"]}
    assert subscribed_upns(emulator) == both

    save_tenant(adele, "off")
    # Adele's own choice in the pane keeps hers on; an admin's override could not.
    assert pane(ADELE).put("/settings/me", json={"auto_sync": "known_contacts"}).status_code == 200
    wait_idle(app)
    with session_scope(app) as session:
        users = {u.upn: u.effective_settings()["auto_sync"] for u in session.scalars(select(User))}
    assert users == {ADELE: "known_contacts", MEGAN: "off"}
    assert subscribed_upns(emulator) == both
    assert stored_subscriptions(app) == both


def catch_up(app, upn: str) -> None:
    """A delta round of the user's mailbox now, as the scheduler would run it."""
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.tenant_id == CONTOSO, User.upn == upn))
        enqueue_catch_up(app, user)
    wait_idle(app)


def effective_mode(app, upn: str) -> str:
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.tenant_id == CONTOSO, User.upn == upn))
        return user.effective_settings()["auto_sync"]


def test_an_admin_override_cannot_turn_a_users_filing_on_but_can_turn_it_off(app, emulator, signed_in, pane):
    adele = signed_in(ADELE)  # an admin
    signed_in(MEGAN)  # the tenant's default is off, and Megan has chosen nothing
    megans = waiting(app, emulator, MEGAN, MEGANS)

    # The widest override there is: Megan's mailbox still files nothing.
    save_override(adele, app, MEGAN, "known_contacts")
    catch_up(app, MEGAN)
    assert effective_mode(app, MEGAN) == "off"
    assert state(emulator, MEGAN, megans) == "pending"
    assert MEGAN not in subscribed_upns(emulator)

    # Her own choice turns filing on, within the admin's limit ("marked" files what waits).
    save_override(adele, app, MEGAN, "marked")
    assert pane(MEGAN).put("/settings/me", json={"auto_sync": "known_contacts"}).json["auto_sync"] == "marked"
    wait_idle(app)
    assert state(emulator, MEGAN, megans) == "synced"

    # The admin turns it off: what waits in her mailbox now stays where it is.
    save_override(adele, app, MEGAN, "off")
    assert effective_mode(app, MEGAN) == "off"
    replys = waiting(app, emulator, MEGAN, "Plain: Megan's reply")
    catch_up(app, MEGAN)
    assert state(emulator, MEGAN, replys) == "pending"
