"""Graph's error answers: one exception, one body shape.

Body: {"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}
with Outlook's codes (ErrorItemNotFound, ErrorAccessDenied, ErrorInvalidIdMalformed, ...).
"""

from datetime import UTC, datetime

ITEM_NOT_FOUND = "The specified object was not found in the store."
ACCESS_DENIED = "Access is denied. Check credentials and try again."
ID_MALFORMED = "Id is malformed."
# An app-only request on a mailbox outside the app's RBAC scope or application access policy.
ODATA_DISABLED = "Access to OData is disabled."


class GraphError(Exception):
    """Raise from a handler to answer `status` with Graph's error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str, request_id: str, client_request_id: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def not_found(message: str = ITEM_NOT_FOUND) -> GraphError:
    return GraphError(404, "ErrorItemNotFound", message)


def malformed_id() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", ID_MALFORMED)


def access_denied(message: str = ACCESS_DENIED) -> GraphError:
    return GraphError(403, "ErrorAccessDenied", message)


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)
