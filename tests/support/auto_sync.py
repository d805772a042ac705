"""Turning automatic sync on for a user and reading the Graph subscriptions it leaves, for
the change-notification and job tests."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import Subscription
from server.db import session_scope
from tests.support.waiting import wait_for


def subscriptions(app) -> list[Subscription]:
    with session_scope(app) as session:
        return list(session.scalars(select(Subscription).order_by(Subscription.folder)))


def enable(pane, app, mode: str = "known_contacts") -> list[Subscription]:
    response = pane().put("/settings/me", json={"auto_sync": mode})
    assert response.status_code == 200, response.json
    assert response.json["auto_sync"] == mode
    return wait_for(lambda: len(subscriptions(app)) == 2 and subscriptions(app), what="two subscriptions")
