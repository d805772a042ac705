"""Graph's webhooks: change notifications and lifecycle events.

Both endpoints answer Graph's validation handshake (`?validationToken=`) with the
token as text/plain (and nosniff: it is reflected input, never HTML). A
notification is checked against its subscription's clientState hash in constant
time; a request with any wrong clientState (Graph never sends one for a live
subscription, so the request is forged) or only unknown subscriptions is refused with
403 before anything is queued; notifications of unknown (dropped) subscriptions beside
genuine ones are discarded. Valid ones are queued (one job per message, so a
repeat is harmless; none for messages the CRM holds as filed or excluded) and
acknowledged with 202 at once.

A flood of forged notifications stays cheap: the body is bounded (MAX_CONTENT_LENGTH,
at most MAX_NOTIFICATIONS), a notification without a plausible subscription id and
clientState is refused before any query, and the rest cost one indexed lookup of
all their subscription ids together, whatever their number. A refusal writes
nothing and calls no one. (403, not 202: Graph's own notifications always match,
so only a forger, or a subscription we have since dropped, gets it; Graph retries
a non-2xx answer for up to 4 hours, each retry costing that one lookup.)
"""
from __future__ import annotations

from flask import Response, current_app, request
from sqlalchemy import select

from server.api import Blueprint
from server.crm.models import MailboxItem, Subscription
from server.db import db_session
from server.errors import ApiError
from server.sync.jobs import enqueue
from server.sync.subscriptions import client_state_matches, plausible_client_state

bp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
               description="Microsoft Graph change notifications (webhooks)")

MAX_NOTIFICATIONS = 1000
MAX_TOKEN = 1024
MAX_SUBSCRIPTION_ID = 128   # Subscription.subscription_id's width
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


def _handshake() -> Response | None:
    token = request.args.get("validationToken")
    if token is None:
        return None
    response = Response(token[:MAX_TOKEN], status=200, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def _refused() -> ApiError:
    return ApiError(403, "invalid_client_state", "Unknown subscription or wrong clientState.")


def _plausible(note: dict) -> bool:
    """Whether a notification could be ours at all, judged without the database."""
    subscription_id = note.get("subscriptionId")
    return (isinstance(subscription_id, str) and 0 < len(subscription_id) <= MAX_SUBSCRIPTION_ID
            and plausible_client_state(note.get("clientState")))


def _verified() -> list[tuple[dict, Subscription]]:
    """The notifications with their subscriptions; 400/403 when any is not ours."""
    body = request.get_json(silent=True)
    notes = body.get("value") if isinstance(body, dict) else None
    if not isinstance(notes, list) or not notes or len(notes) > MAX_NOTIFICATIONS \
            or not all(isinstance(n, dict) for n in notes):
        raise ApiError(400, "invalid_notification", "Expected Graph's {\"value\": [...]} notification body.")
    if not all(_plausible(n) for n in notes):
        raise _refused()
    ids = {n["subscriptionId"] for n in notes}
    rows = {row.subscription_id: row for row in db_session().scalars(
        select(Subscription).where(Subscription.subscription_id.in_(ids)))}
    # Graph batches notifications of several subscriptions into one POST, and keeps
    # sending for a subscription we dropped until it expires: those are discarded, so
    # the genuine ones beside them are not refused (and retried for hours) with them.
    notes = [n for n in notes if n["subscriptionId"] in rows]
    if not notes:
        raise _refused()
    checked: dict[tuple[str, str], bool] = {}   # a batch repeats one subscription's secret
    verified = []
    for note in notes:
        row = rows[note["subscriptionId"]]
        pair = (row.subscription_id, note["clientState"])
        if pair not in checked:
            checked[pair] = client_state_matches(row, note["clientState"])
        tenant = note.get("tenantId")
        if not checked[pair] or (tenant and str(tenant).lower() != row.tenant_id):
            raise _refused()
        verified.append((note, row))
    return verified


def _settled(verified: list[tuple[dict, Subscription]]) -> set[tuple[int, str]]:
    """(user, message) pairs the CRM already holds as filed or marked synced: nothing
    automatic ever changes them, so their notifications (the echo of our own PATCH
    among them) need no job and no Graph call."""
    pairs = {(row.user_id, str((note.get("resourceData") or {}).get("id") or "")) for note, row in verified}
    users = {user_id for user_id, _ in pairs}
    ids = {message_id for _, message_id in pairs if message_id}
    if not ids:
        return set()
    rows = db_session().execute(select(MailboxItem.user_id, MailboxItem.graph_id).where(
        MailboxItem.user_id.in_(users), MailboxItem.graph_id.in_(ids),
        MailboxItem.state.in_(("synced", "excluded"))))
    return {(user_id, graph_id) for user_id, graph_id in rows} & pairs


def _accepted() -> Response:
    return Response(status=202)


@bp.route("", methods=["POST"])
@bp.doc(security=[])
def notify():
    """Receive change notifications (or answer the validation handshake)."""
    handshake = _handshake()
    if handshake is not None:
        return handshake
    app = current_app._get_current_object()
    verified = _verified()
    settled = _settled(verified)
    for note, row in verified:
        message_id = str((note.get("resourceData") or {}).get("id") or "")
        if not message_id or (row.user_id, message_id) in settled:
            continue
        enqueue("message", {"message_id": message_id}, key=f"message:{row.user_id}:{message_id}",
                tenant_id=row.tenant_id, user_id=row.user_id, app=app)
    return _accepted()


@bp.route("/lifecycle", methods=["POST"])
@bp.doc(security=[])
def lifecycle():
    """Receive lifecycle events: renew, recreate, or catch up with delta."""
    handshake = _handshake()
    if handshake is not None:
        return handshake
    app = current_app._get_current_object()
    for note, row in _verified():
        event = note.get("lifecycleEvent")
        if event not in LIFECYCLE_EVENTS:
            continue
        enqueue("lifecycle", {"subscription_id": row.subscription_id, "event": event, "folder": row.folder},
                key=f"lifecycle:{row.subscription_id}:{event}", tenant_id=row.tenant_id,
                user_id=row.user_id, app=app)
    return _accepted()
