"""Typed Graph errors: what a caller can act on, mapped from status and Graph's error code."""

from __future__ import annotations

import datetime
import email.utils
import time


class GraphError(Exception):
    """Graph answered an error (or could not be reached).

    `status` is Graph's HTTP status (0 when no response came), `code` Graph's error code
    (e.g. "ErrorItemNotFound"), `retry_after` seconds when Graph (or our retry budget)
    says when to come back, `request_id` Graph's request-id for support tickets.
    """

    default_status = 500

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        retry_after: float | None = None,
        request_id: str | None = None,
    ):
        self.status = self.default_status if status is None else status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.request_id = request_id
        super().__init__(f"{self.status} {code}: {message}")

    def __repr__(self):
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, retry_after={self.retry_after!r})"
        )


class BadRequest(GraphError):
    default_status = 400


class Unauthorized(GraphError):
    """The token was rejected (expired, wrong audience): get a new one."""

    default_status = 401


class AccessDenied(GraphError):
    """The token is fine but lacks a permission (missing consent or scope)."""

    default_status = 403


class MailboxAccessRefused(AccessDenied):
    """Exchange keeps the app out of this one mailbox: the tenant scoped the app's
    application permissions (RBAC for Applications, or an application access policy) to
    other mailboxes. Graph's words: 403 ErrorAccessDenied "Access to OData is disabled."
    (ExtensionError with the same reason when subscribing)."""


ODATA_DISABLED = "access to odata is disabled"


class NotFound(GraphError):
    default_status = 404


class ContactNotFound(NotFound):
    """A 404 of the contacts collection: the Outlook contact is gone (or never was)."""


def contact_not_found(error: GraphError) -> GraphError:
    """A NotFound of a contacts request as ContactNotFound; any other error as it is."""
    if not isinstance(error, NotFound) or isinstance(error, ContactNotFound):
        return error
    return ContactNotFound(
        error.status, error.code, error.message, retry_after=error.retry_after, request_id=error.request_id
    )


class Conflict(GraphError):
    """409 (already exists) or 412 (changed since read)."""

    default_status = 409


class PreconditionFailed(Conflict):
    """412: a conditional write (`If-Match` with the item's `@odata.etag`) found the item
    changed since it was read (Exchange's ErrorIrresolvableConflict): read it again and
    re-apply the change to what is there now."""

    default_status = 412


class DeltaExpired(GraphError):
    """The delta token is no longer valid: restart the folder without it."""

    default_status = 410


class Throttled(GraphError):
    """429: come back after `retry_after` seconds."""

    default_status = 429


class Unavailable(GraphError):
    """500/502/503, or Graph unreachable: transient, try again later."""

    default_status = 503


class GraphTimeout(GraphError):
    """504 from Graph, or no answer within our timeout."""

    default_status = 504


_DELTA_CODES = {"syncstatenotfound", "syncstateinvalid", "resyncrequired"}


def error_for(
    status: int, code: str | None, message: str | None, retry_after: float | None = None, request_id: str | None = None
) -> GraphError:
    """The typed GraphError for an HTTP status and Graph error code."""
    code = code or f"http{status}"
    message = message or f"Graph answered HTTP {status}"
    if status == 410 or code.lower() in _DELTA_CODES:
        cls = DeltaExpired
    elif status == 403 and ODATA_DISABLED in message.lower():
        cls = MailboxAccessRefused
    else:
        cls = {
            400: BadRequest,
            401: Unauthorized,
            403: AccessDenied,
            404: NotFound,
            409: Conflict,
            412: PreconditionFailed,
            429: Throttled,
            500: Unavailable,
            502: Unavailable,
            503: Unavailable,
            504: GraphTimeout,
        }.get(status, GraphError)
    return cls(status, code, message, retry_after=retry_after, request_id=request_id)


def error_from_body(status: int, body, headers=None) -> GraphError:
    """Map a Graph error body `{"error": {"code", "message", "innerError"}}` to a GraphError."""
    headers = headers or {}
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        err = {}
    inner = err.get("innerError") or err.get("innererror") or {}
    request_id = _header(headers, "request-id") or (inner.get("request-id") if isinstance(inner, dict) else None)
    return error_for(
        status,
        err.get("code"),
        err.get("message"),
        retry_after=parse_retry_after(_header(headers, "Retry-After")),
        request_id=request_id,
    )


def _header(headers, name):
    if hasattr(headers, "get") and not isinstance(headers, dict):
        return headers.get(name)  # requests' case-insensitive dict
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def parse_retry_after(value, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date."""
    if value is None or value == "":
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000": HTTP-dates are always GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
