"""The sync's failures in the API's words: Graph's errors (what the user can do about
each) and the sync's own domain errors."""

from __future__ import annotations

from server.domain_errors import Busy, Invalid, NotFound
from server.errors import ApiError
from server.graph.errors import (
    AccessDenied,
    BadRequest,
    ContactNotFound,
    GraphError,
    GraphTimeout,
    MailboxAccessRefused,
    PreconditionFailed,
    Throttled,
    Unauthorized,
    Unavailable,
)
from server.graph.errors import NotFound as GraphNotFound


class InvalidAddress(Invalid):
    """The address given for a contact is not an email address."""

    code = "invalid_address"

    def __init__(self):
        super().__init__("That is not a valid email address.")


class CrmContactNotFound(NotFound):
    """The CRM contact chosen for an Outlook contact is not in the tenant (or deleted)."""

    code = "crm_contact_not_found"

    def __init__(self):
        super().__init__("That CRM contact does not exist.")


class ContactBeingCreated(Busy):
    """Another request is creating this Outlook contact and did not finish within the
    wait; retrying shortly returns its contact."""

    code = "contact_being_created"
    retry_after = 2

    def __init__(self):
        super().__init__("This contact is being created in Outlook right now. Retry in a moment.")


def api_error_for(error: GraphError) -> ApiError:
    """The ApiError the pane should show for a Graph failure (plain words, and when
    to retry for throttling and outages)."""
    if isinstance(error, ContactNotFound):
        return ApiError(
            404,
            "outlook_contact_not_found",
            "This contact was not found in your Outlook contacts. It may have been deleted.",
        )
    if isinstance(error, GraphNotFound):
        return ApiError(
            404, "message_not_found", "This item was not found in your mailbox. It may have been moved or deleted."
        )
    if isinstance(error, BadRequest) and error.code in ("ErrorInvalidIdMalformed", "ErrorInvalidId"):
        return ApiError(400, "invalid_message_id", "That is not a valid Outlook item id.")
    if isinstance(error, MailboxAccessRefused):
        return ApiError(
            403,
            "automatic_sync_not_allowed",
            "Automatic sync is not allowed for this mailbox by your organisation. Sync emails one at a time "
            "from the pane instead: that uses your own sign-in.",
        )
    if isinstance(error, AccessDenied):
        return ApiError(
            403,
            "graph_access_denied",
            "Outlook refused access to your mailbox. An administrator may need to "
            "grant the add-in its mail permissions.",
        )
    if isinstance(error, PreconditionFailed):
        return ApiError(
            409,
            "message_changed",
            "This message kept changing in Outlook while it was being marked. It is filed in the CRM; "
            "press Sync again to mark it.",
        )
    if isinstance(error, Unauthorized):
        return ApiError(401, "graph_unauthorized", "Your Outlook sign-in has expired. Sign in again and retry.")
    if isinstance(error, Throttled):
        return ApiError(
            429,
            "graph_throttled",
            "Outlook is busy and asked us to slow down. Retry shortly.",
            retry_after=error.retry_after or 5,
        )
    if isinstance(error, GraphTimeout):
        return ApiError(
            504,
            "graph_timeout",
            "Outlook did not answer in time. Nothing was changed; retry in a moment.",
            retry_after=error.retry_after or 5,
        )
    if isinstance(error, Unavailable):
        return ApiError(
            503,
            "graph_unavailable",
            "Outlook is not reachable right now. Nothing was lost; retry in a moment.",
            retry_after=error.retry_after or 10,
        )
    return ApiError(
        502, "graph_error", f"Outlook answered with an error ({error.code}). Retry, or tell your administrator."
    )


# What `server.errors.init_app` cannot import itself: Graph's errors, answered by api_error_for.
GRAPH_TRANSLATIONS = {GraphError: api_error_for}
