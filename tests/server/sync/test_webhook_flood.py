"""A flood of forged change notifications is cheap to refuse: no Graph call, no job,
no database write, and at most one SQL statement per request however many
notifications it carries, because anyone who can reach the webhook URL can send
them. Counted, not timed: the emulator's request log, the jobs table, and every SQL
statement the request's thread runs."""

from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from server.crm.models import MessageChange, SyncJob
from server.db import engine_for, session_scope
from server.routes.notifications import MAX_NOTIFICATIONS
from tests.support.auto_sync import enable
from tests.support.identities import CONTOSO
from tests.support.waiting import wait_idle

FLOOD = 50
PATHS = ("/api/v1/notifications", "/api/v1/notifications/lifecycle")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Statements:
    """The SQL statements this thread runs (the test client serves requests in it)."""

    def __init__(self):
        self.seen: list[str] = []
        self.thread = threading.get_ident()

    def __call__(self, _conn, _cursor, statement, *_args):
        if threading.get_ident() == self.thread:
            self.seen.append(statement.lstrip().upper())

    @property
    def writes(self) -> list[str]:
        return [s for s in self.seen if s.startswith(WRITES)]


@contextmanager
def counting(app):
    statements = Statements()
    engine = engine_for(app)
    event.listen(engine, "before_cursor_execute", statements)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", statements)


def job_count(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(SyncJob))


def changes_noted(app) -> set[str]:
    """The message ids recorded for the mailbox's job to handle."""
    with session_scope(app) as session:
        return set(session.scalars(select(MessageChange.graph_id)))


def note(subscription_id: str, client_state, n: int = 0) -> dict:
    return {
        "subscriptionId": subscription_id,
        "clientState": client_state,
        "changeType": "created",
        "resource": f"Users/x/Messages/m{n}",
        "resourceData": {"id": f"AAMkAG-flood-{n}"},
        "tenantId": CONTOSO,
        "lifecycleEvent": "missed",
    }


@pytest.fixture
def subscribed(pane, app, emulator, adele):
    """Adele's live subscriptions: (a subscription id, its real clientState)."""
    row = enable(pane, app)[0]
    wait_idle(app)
    secret = next(
        s["clientState"]
        for s in emulator.admin("GET", "subscriptions").json()["subscriptions"]
        if s["id"] == row.subscription_id
    )
    emulator.clear_requests()
    return row.subscription_id, secret


def forged_bodies(subscription_id: str, secret: str) -> dict[str, list[dict]]:
    """Kinds of forged request, FLOOD of each (the big ones fewer: they are the same test)."""
    many = MAX_NOTIFICATIONS
    return {
        "wrong clientState": [{"value": [note(subscription_id, secrets.token_urlsafe(32), n)]} for n in range(FLOOD)],
        "unknown subscription": [{"value": [note(secrets.token_hex(16), secret, n)]} for n in range(FLOOD)],
        "no clientState": [{"value": [note(subscription_id, None, n)]} for n in range(FLOOD)],
        "clientState too long": [{"value": [note(subscription_id, "x" * 129, n)]} for n in range(FLOOD)],
        "right secret, other tenant": [
            {"value": [{**note(subscription_id, secret, n), "tenantId": "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"}]}
            for n in range(FLOOD)
        ],
        f"{many} wrong clientStates": [
            {"value": [note(subscription_id, f"guess-{k}-{n}", n) for n in range(many)]} for k in range(3)
        ],
        f"{many} unknown subscriptions": [
            {"value": [note(secrets.token_hex(16), secret, n) for n in range(many)]} for _ in range(3)
        ],
        # Every notification genuine but the last: still all refused, nothing queued.
        f"{many - 1} genuine + 1 forged": [
            {
                "value": [note(subscription_id, secret, n) for n in range(many - 1)]
                + [note(subscription_id, "forged", many)]
            }
            for _ in range(3)
        ],
    }


@pytest.mark.parametrize("path", PATHS)
def test_a_flood_of_forged_notifications_costs_one_query_each_and_nothing_else(app, client, emulator, subscribed, path):
    jobs_before = job_count(app)
    for kind, bodies in forged_bodies(*subscribed).items():
        for body in bodies:
            with counting(app) as statements:
                response = client.post(path, json=body)
            assert response.status_code == 403, (kind, response.status_code)
            assert response.json["error"]["code"] == "invalid_client_state"
            assert len(statements.seen) <= 1, (kind, statements.seen)
            assert statements.writes == [], kind
            if kind in ("no clientState", "clientState too long"):
                assert statements.seen == [], kind  # refused before any query

    assert job_count(app) == jobs_before
    assert emulator.requests() == []  # no Graph or token call


def test_the_same_notifications_with_the_right_secret_are_accepted(app, client, subscribed):
    """The control: the counting above would see a job and its writes."""
    subscription_id, secret = subscribed
    jobs_before = job_count(app)
    with counting(app) as statements:
        response = client.post(PATHS[0], json={"value": [note(subscription_id, secret, n) for n in range(3)]})
    assert response.status_code == 202
    assert statements.writes  # the changes' rows and the job's
    # One job for the mailbox, which handles the three messages together.
    assert job_count(app) == jobs_before + 1
    assert changes_noted(app) == {f"AAMkAG-flood-{n}" for n in range(3)}


def test_notifications_of_a_dropped_subscription_never_block_the_genuine_ones_beside_them(app, client, subscribed):
    """Graph batches several subscriptions' notifications and keeps sending for one we
    dropped until it expires: those are discarded, the genuine ones still queued."""
    subscription_id, secret = subscribed
    jobs_before = job_count(app)
    response = client.post(
        PATHS[0],
        json={
            "value": [
                note(subscription_id, secret, 1),
                note(secrets.token_hex(16), secrets.token_urlsafe(32), 2),
                note(subscription_id, secret, 3),
            ]
        },
    )
    assert response.status_code == 202
    assert job_count(app) == jobs_before + 1  # the mailbox's job
    assert changes_noted(app) == {"AAMkAG-flood-1", "AAMkAG-flood-3"}
