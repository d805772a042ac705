"""A tenant that scopes the app's own (app-only) access to some mailboxes, as Exchange
Online's RBAC for Applications or an application access policy does: a mailbox outside
the scope stops automatic sync once (recorded on the user, its job failed for that
reason and never retried, nothing queued for it after), the mailboxes inside keep
working, the user's own commands in the pane keep working (their delegated token is not
scoped), and the daily re-check lets the mailbox back in once the scope includes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from server.crm.models import Subscription, SyncJob, User
from server.crm.types import utcnow
from server.db import session_scope
from server.sync.app_access_check import schedule_recheck
from server.sync.delta import schedule_delta_round
from server.sync.message_changes import enqueue_message
from server.sync.subscriptions import schedule_upkeep
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.graph_tokens import fresh_token_source
from tests.support.identities import ADELE, CONTOSO, MEGAN
from tests.support.waiting import wait_for, wait_idle

MEGANS = "Plain: hello Megan"
REASON = "Automatic sync is not allowed for this mailbox by your organisation."
DELEGATED = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "offline_access"]


@pytest.fixture
def scoped_to_adele(emulator, clean_state):
    """Contoso's Exchange lets the app into Adele's mailbox only."""
    emulator.mailbox_scope(CONTOSO, [ADELE], group="crm-sync@contoso.com")
    yield
    emulator.mailbox_scope(CONTOSO, None)


def user_row(app, upn: str) -> User:
    with session_scope(app) as session:
        return session.scalar(select(User).where(User.tenant_id == CONTOSO, User.upn == upn))


def jobs_of(app, upn: str) -> list[SyncJob]:
    user_id = user_row(app, upn).id
    with session_scope(app) as session:
        return list(session.scalars(select(SyncJob).where(SyncJob.user_id == user_id).order_by(SyncJob.id)))


def stored_folders(app, upn: str) -> list[str]:
    user_id = user_row(app, upn).id
    with session_scope(app) as session:
        return sorted(session.scalars(select(Subscription.folder).where(Subscription.user_id == user_id)))


def app_only_calls(emulator, upn: str) -> list[dict]:
    """Graph requests the backend made on `upn`'s mailbox (the log's `mailbox`)."""
    return [r for r in emulator.requests() if r["mailbox"] == upn.lower() and r["path"].startswith("/v1.0/users/")]


def switch_on(pane, upn: str) -> None:
    response = pane(upn).put("/settings/me", json={"auto_sync": "known_contacts"})
    assert response.status_code == 200, response.json


def refused_megan(app, emulator, pane) -> None:
    """Both users switch automatic sync on; Megan's mailbox is outside the app's scope."""
    for upn in (ADELE, MEGAN):
        switch_on(pane, upn)
    wait_for(lambda: stored_folders(app, ADELE) == ["inbox", "sentitems"], what="Adele's subscriptions")
    wait_idle(app)


def test_a_mailbox_outside_the_scope_stops_automatic_sync_once_and_for_good(app, emulator, pane, scoped_to_adele):
    refused_megan(app, emulator, pane)

    megan = user_row(app, MEGAN)
    assert megan.app_access_refused_at is not None and megan.app_access_checked_at is not None
    assert user_row(app, ADELE).app_access_refused_at is None
    # The job that met the refusal ended failed with the reason, after one run: never retried.
    failed = [j for j in jobs_of(app, MEGAN) if j.state == "failed"]
    assert failed and all(j.attempts == 1 for j in failed)
    assert all(j.error.startswith(f"MailboxOutOfScope: {REASON}") for j in failed)
    assert not [j for j in jobs_of(app, MEGAN) if j.state in ("queued", "running", "retrying")]
    # Adele's mailbox, inside the scope, is watched; Megan's has no subscription anywhere.
    assert stored_folders(app, MEGAN) == []
    graph_side = emulator.admin("GET", "subscriptions").json()["subscriptions"]
    assert {s["mailbox_oid"] for s in graph_side} == {user_row(app, ADELE).oid}

    # The periodic rounds and the pane's open leave Megan's mailbox alone: no job, no Graph call.
    jobs_before = [(j.id, j.state, j.attempts) for j in jobs_of(app, MEGAN)]
    emulator.clear_requests()
    assert schedule_delta_round(app) == 1  # Adele only
    schedule_upkeep(app)
    megans = find_message(emulator, MEGAN, MEGANS)["id"]
    opened = pane(MEGAN).get(f"/messages/{megans}")
    assert opened.status_code == 200, opened.json
    wait_idle(app)
    assert [(j.id, j.state, j.attempts) for j in jobs_of(app, MEGAN)] == jobs_before
    assert app_only_calls(emulator, MEGAN) == []
    assert app_only_calls(emulator, ADELE)  # Adele's round did run
    assert opened.json["automatic_sync_blocked"] is True and opened.json["filing_queued"] is False

    # Her own command in the pane still files the message: her own token is not scoped.
    synced = pane(MEGAN).post(f"/messages/{megans}/sync")
    assert synced.status_code == 200, synced.json
    assert synced.json["state"] == "synced" and synced.json["automatic_sync_blocked"] is True
    assert outlook_state(emulator, MEGAN, megans)["state"] == "synced"

    # Her settings say so; Adele's do not.
    mine = pane(MEGAN).get("/settings/me").json
    assert mine["automatic_sync_blocked"] is True and mine["automatic_sync_blocked_since"]
    assert pane(ADELE).get("/settings/me").json["automatic_sync_blocked"] is False
    # Bulk sync, which reads the mailbox app-only, is refused up front with the reason.
    bulk = pane(MEGAN).post("/bulk-sync", json={"folder": "inbox", "since": "2026-01-01"})
    assert bulk.status_code == 403
    assert bulk.json["error"]["code"] == "automatic_sync_not_allowed"
    assert bulk.json["error"]["message"].startswith(REASON)
    # Saving her setting again queues nothing for the mailbox either.
    switch_on(pane, MEGAN)
    wait_idle(app)
    assert [(j.id, j.state, j.attempts) for j in jobs_of(app, MEGAN)] == jobs_before


def test_a_job_queued_for_an_out_of_scope_mailbox_ends_at_once_without_calling_graph(
    app, emulator, pane, scoped_to_adele
):
    refused_megan(app, emulator, pane)
    emulator.clear_requests()
    with session_scope(app) as session:
        megan = session.scalar(select(User).where(User.upn == MEGAN))
        megan_id = megan.id
    # As a change notification queued before the refusal was known would.
    job_id = enqueue_message(app, CONTOSO, megan_id, "some-message")
    wait_idle(app)
    with session_scope(app) as session:
        row = session.get(SyncJob, job_id)
        assert (row.state, row.attempts) == ("failed", 1)
        assert row.error.startswith(f"MailboxOutOfScope: {REASON}")
    assert app_only_calls(emulator, MEGAN) == []


def test_the_daily_recheck_lets_the_mailbox_back_in_once_the_scope_includes_it(app, emulator, pane, scoped_to_adele):
    refused_megan(app, emulator, pane)
    megan = user_row(app, MEGAN)
    assert schedule_recheck(app) == 0  # just checked: not again today

    def checked_two_days_ago():
        with session_scope(app) as session:
            session.execute(
                update(User).where(User.id == megan.id).values(app_access_checked_at=utcnow() - timedelta(days=2))
            )
            session.commit()

    checked_two_days_ago()
    assert schedule_recheck(app) == 1
    wait_idle(app)
    still = user_row(app, MEGAN)
    assert still.app_access_refused_at == megan.app_access_refused_at  # first seen, kept
    assert still.app_access_checked_at > megan.app_access_checked_at
    recheck = [j for j in jobs_of(app, MEGAN) if j.kind == "app_access"]
    assert [(j.state, j.attempts) for j in recheck] == [("done", 1)]  # a refusal is an answer, not a failure

    emulator.mailbox_scope(CONTOSO, [ADELE, MEGAN])  # the Exchange admin adds her to the group
    checked_two_days_ago()
    assert schedule_recheck(app) == 1
    wait_for(lambda: stored_folders(app, MEGAN) == ["inbox", "sentitems"], what="Megan's subscriptions")
    wait_idle(app)
    assert user_row(app, MEGAN).app_access_refused_at is None
    assert pane(MEGAN).get("/settings/me").json["automatic_sync_blocked"] is False


def test_rbac_for_applications_is_told_from_missing_consent_by_the_mailboxes_that_work(
    app, emulator, pane, clean_state, monkeypatch
):
    # RBAC for Applications: Entra's unscoped consent removed, Exchange grants the roles on
    # Adele's mailbox only, and answers Megan's with the plain 403 of a missing permission.
    monkeypatch.setitem(app.extensions, "crm_auth", fresh_token_source(app))  # no token with the old roles
    emulator.consent(CONTOSO, scopes=DELEGATED, roles=[])
    emulator.mailbox_scope(CONTOSO, [ADELE], kind="rbac")
    try:
        switch_on(pane, ADELE)
        wait_for(lambda: stored_folders(app, ADELE) == ["inbox", "sentitems"], what="Adele's subscriptions")
        wait_idle(app)
        assert user_row(app, ADELE).app_access_checked_at is not None  # the app opens her mailbox

        switch_on(pane, MEGAN)
        wait_idle(app)
        megan = user_row(app, MEGAN)
        assert megan.app_access_refused_at is not None  # the scope, since Adele's works
        failed = [j for j in jobs_of(app, MEGAN) if j.state == "failed"]
        # Switching on queues a catch-up and the subscriptions: whichever met it, each ran once.
        assert failed and {j.kind for j in failed} <= {"delta", "subscriptions"}
        assert all(j.attempts == 1 and j.error.startswith(f"MailboxOutOfScope: {REASON}") for j in failed)
        assert not [j for j in jobs_of(app, MEGAN) if j.state in ("queued", "running", "retrying")]
        assert stored_folders(app, MEGAN) == []
    finally:
        emulator.mailbox_scope(CONTOSO, None)
