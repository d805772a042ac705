"""Graph's webhooks: change notifications and lifecycle events.

Both endpoints answer Graph's validation handshake (`?validationToken=`) with the
token as text/plain (and nosniff: it is reflected input, never HTML). A notification
body is parsed here and handed to server.sync.webhooks, which checks each one
against its subscription and queues the work; the answer is 202 at once, or 403
when any notification is not ours.

The body is bounded (MAX_CONTENT_LENGTH, at most MAX_NOTIFICATIONS). (403, not 202:
Graph's own notifications always match, so only a forger, or a subscription we have
since dropped, gets it; Graph retries a non-2xx answer for up to 4 hours, each retry
costing one indexed lookup.)
"""

from __future__ import annotations

from flask import Response, current_app, request

from server.api import Blueprint
from server.db import db_session
from server.errors import ApiError
from server.sync.webhooks import queue_changes, queue_lifecycle_events

bp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="Microsoft Graph change notifications (webhooks)",
)

MAX_NOTIFICATIONS = 1000
MAX_TOKEN = 1024


def _handshake() -> Response | None:
    token = request.args.get("validationToken")
    if token is None:
        return None
    response = Response(token[:MAX_TOKEN], status=200, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def _notifications() -> list[dict]:
    """The body's notifications; 400 when it is not Graph's {"value": [...]} shape."""
    body = request.get_json(silent=True)
    notes = body.get("value") if isinstance(body, dict) else None
    if (
        not isinstance(notes, list)
        or not notes
        or len(notes) > MAX_NOTIFICATIONS
        or not all(isinstance(n, dict) for n in notes)
    ):
        raise ApiError(400, "invalid_notification", 'Expected Graph\'s {"value": [...]} notification body.')
    return notes


def _accepted() -> Response:
    return Response(status=202)


@bp.route("", methods=["POST"])
@bp.doc(security=[])
def notify():
    """Receive change notifications (or answer the validation handshake)."""
    handshake = _handshake()
    if handshake is not None:
        return handshake
    queue_changes(current_app._get_current_object(), db_session(), _notifications())
    return _accepted()


@bp.route("/lifecycle", methods=["POST"])
@bp.doc(security=[])
def lifecycle():
    """Receive lifecycle events: renew, recreate, or catch up with delta."""
    handshake = _handshake()
    if handshake is not None:
        return handshake
    queue_lifecycle_events(current_app._get_current_object(), db_session(), _notifications())
    return _accepted()
