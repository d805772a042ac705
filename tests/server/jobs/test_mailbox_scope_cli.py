"""`flask crm sync-mailbox` on a mailbox the organisation keeps the app out of (Exchange's
RBAC for Applications or an application access policy): the run ends at once with the
reason instead of retrying, and the next run is refused up front with it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.crm.models import SyncJob, User
from server.db import session_scope
from tests.support.identities import ADELE, CONTOSO, MEGAN

REASON = "Automatic sync is not allowed for this mailbox by your organisation."


@pytest.fixture
def scoped_to_megan(emulator, clean_state):
    emulator.mailbox_scope(CONTOSO, [MEGAN])
    yield
    emulator.mailbox_scope(CONTOSO, None)


def sync_mailbox(app):
    return app.test_cli_runner().invoke(
        args=["crm", "sync-mailbox", "--user", ADELE, "--since", "2026-01-01", "--no-progress"]
    )


def test_the_cli_stops_at_once_with_the_reason_and_then_refuses_up_front(app, emulator, adele, scoped_to_megan):
    first = sync_mailbox(app)
    assert first.exit_code != 0
    assert REASON in first.output and "failed" in first.output
    with session_scope(app) as session:
        jobs = list(session.scalars(select(SyncJob).where(SyncJob.user_id == adele)))
        assert [(j.kind, j.state, j.attempts) for j in jobs] == [("bulk", "failed", 1)]
        assert session.get(User, adele).app_access_refused_at is not None

    again = sync_mailbox(app)
    assert again.exit_code != 0
    assert f"{ADELE}: {REASON}" in again.output
    with session_scope(app) as session:
        assert session.scalar(select(SyncJob.attempts).where(SyncJob.user_id == adele)) == 1  # nothing ran again
