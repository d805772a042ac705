"""Graph's change notifications and lifecycle events, once parsed: which are ours,
and the jobs they queue.

A notification is checked against its subscription's clientState hash in constant
time. A request with any wrong clientState (Graph never sends one for a live
subscription, so the request is forged) or only unknown subscriptions is refused
(403) before anything is queued; notifications of unknown (dropped) subscriptions
beside genuine ones are discarded. Valid ones are recorded per mailbox and message (a
repeat is one row) and queue one job per mailbox, which reads and marks its messages
together in `$batch` (message_changes.py); nothing is queued for messages the CRM holds
as filed or excluded.

A flood of forged notifications stays cheap: a notification without a plausible
subscription id and clientState is refused before any query, and the rest cost one
indexed lookup of all their subscription ids together, whatever their number. A
refusal writes nothing and calls no one.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.crm.models import MailboxItem, Subscription
from server.errors import ApiError
from server.sync.message_changes import enqueue_mailbox, record_changes
from server.sync.subscriptions import (
    client_state_matches,
    enqueue_lifecycle,
    plausible_client_state,
)

MAX_SUBSCRIPTION_ID = 128  # Subscription.subscription_id's width
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")

Verified = list[tuple[dict, Subscription]]


def refused() -> ApiError:
    return ApiError(403, "invalid_client_state", "Unknown subscription or wrong clientState.")


def _plausible(note: dict) -> bool:
    """Whether a notification could be ours at all, judged without the database."""
    subscription_id = note.get("subscriptionId")
    return (
        isinstance(subscription_id, str)
        and 0 < len(subscription_id) <= MAX_SUBSCRIPTION_ID
        and plausible_client_state(note.get("clientState"))
    )


def verify(session: Session, notes: list[dict]) -> Verified:
    """The notifications with their subscriptions. Raises the 403 ApiError when any
    is not ours, or none is of a subscription we know."""
    if not all(_plausible(n) for n in notes):
        raise refused()
    ids = {n["subscriptionId"] for n in notes}
    rows = {
        row.subscription_id: row
        for row in session.scalars(select(Subscription).where(Subscription.subscription_id.in_(ids)))
    }
    # Graph batches notifications of several subscriptions into one POST, and keeps
    # sending for a subscription we dropped until it expires: those are discarded, so
    # the genuine ones beside them are not refused (and retried for hours) with them.
    notes = [n for n in notes if n["subscriptionId"] in rows]
    if not notes:
        raise refused()
    checked: dict[tuple[str, str], bool] = {}  # a batch repeats one subscription's secret
    verified = []
    for note in notes:
        row = rows[note["subscriptionId"]]
        pair = (row.subscription_id, note["clientState"])
        if pair not in checked:
            checked[pair] = client_state_matches(row, note["clientState"])
        tenant = note.get("tenantId")
        if not checked[pair] or (tenant and str(tenant).lower() != row.tenant_id):
            raise refused()
        verified.append((note, row))
    return verified


def _message_id(note: dict) -> str:
    return str((note.get("resourceData") or {}).get("id") or "")


def _settled(session: Session, verified: Verified) -> set[tuple[int, str]]:
    """(user, message) pairs the CRM already holds as filed or marked synced: nothing
    automatic ever changes them, so their notifications (the echo of our own PATCH
    among them) need no job and no Graph call."""
    pairs = {(row.user_id, _message_id(note)) for note, row in verified}
    users = {user_id for user_id, _ in pairs}
    ids = {message_id for _, message_id in pairs if message_id}
    if not ids:
        return set()
    rows = session.execute(
        select(MailboxItem.user_id, MailboxItem.graph_id).where(
            MailboxItem.user_id.in_(users), MailboxItem.graph_id.in_(ids), MailboxItem.state.in_(("synced", "excluded"))
        )
    )
    return {(user_id, graph_id) for user_id, graph_id in rows} & pairs


def queue_changes(app: Flask, session: Session, notes: list[dict]) -> None:
    """Verifies change notifications, records each changed message the CRM has not
    settled (one statement for the whole body) and queues one `message` job per mailbox
    named (message_changes.py). Raises the 403 ApiError (see `verify`)."""
    verified = verify(session, notes)
    settled = _settled(session, verified)
    changes = [
        (row.tenant_id, row.user_id, message_id)
        for note, row in verified
        if (message_id := _message_id(note)) and (row.user_id, message_id) not in settled
    ]
    for tenant_id, user_id in sorted(record_changes(session, changes), key=lambda pair: pair[1]):
        enqueue_mailbox(app, tenant_id, user_id)


def queue_lifecycle_events(app: Flask, session: Session, notes: list[dict]) -> None:
    """Verifies lifecycle events and queues a `lifecycle` job for each known event.
    Raises the 403 ApiError (see `verify`)."""
    for note, row in verify(session, notes):
        event = note.get("lifecycleEvent")
        if event in LIFECYCLE_EVENTS:
            enqueue_lifecycle(app, row, event)
