"""Graph's failures in the API's words: what the user can do about each."""
from __future__ import annotations

from server.errors import ApiError
from server.graph import errors as graph


def api_error_for(error: graph.GraphError) -> ApiError:
    """The ApiError the pane should show for a Graph failure (plain words, and when
    to retry for throttling and outages)."""
    if isinstance(error, graph.NotFound):
        return ApiError(404, "message_not_found",
                        "This item was not found in your mailbox. It may have been moved or deleted.")
    if isinstance(error, graph.BadRequest) and error.code in ("ErrorInvalidIdMalformed", "ErrorInvalidId"):
        return ApiError(400, "invalid_message_id", "That is not a valid Outlook item id.")
    if isinstance(error, graph.AccessDenied):
        return ApiError(403, "graph_access_denied",
                        "Outlook refused access to your mailbox. An administrator may need to "
                        "grant the add-in its mail permissions.")
    if isinstance(error, graph.Unauthorized):
        return ApiError(401, "graph_unauthorized",
                        "Your Outlook sign-in has expired. Sign in again and retry.")
    if isinstance(error, graph.Throttled):
        return ApiError(429, "graph_throttled",
                        "Outlook is busy and asked us to slow down. Retry shortly.",
                        retry_after=error.retry_after or 5)
    if isinstance(error, graph.GraphTimeout):
        return ApiError(504, "graph_timeout",
                        "Outlook did not answer in time. Nothing was changed; retry in a moment.",
                        retry_after=error.retry_after or 5)
    if isinstance(error, graph.Unavailable):
        return ApiError(503, "graph_unavailable",
                        "Outlook is not reachable right now. Nothing was lost; retry in a moment.",
                        retry_after=error.retry_after or 10)
    return ApiError(502, "graph_error",
                    f"Outlook answered with an error ({error.code}). Retry, or tell your administrator.")
