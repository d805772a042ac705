"""The one error shape: every failure renders as {"error": {"code", "message", ...}}.

Views raise `ApiError` (or let werkzeug/flask-smorest raise), and the layers
below raise domain errors (`server.domain_errors`: not found, invalid, forbidden,
conflict, busy) that views let through. The handlers registered by `init_app`
turn everything, uncaught exceptions included, into that shape with a stable
`code` and a human `message`; `DOMAIN_STATUS` is the one table of which family
answers with which status.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from server.domain_errors import Busy, Conflict, DomainError, Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)

# Stable codes for werkzeug's HTTP errors; the message is ours, not werkzeug's HTML prose.
HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request is malformed."),
    401: ("unauthorized", "Authentication is required."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed on this URL."),
    406: ("not_acceptable", "The requested representation is not available."),
    409: ("conflict", "The request conflicts with the current state."),
    410: ("gone", "This resource is gone."),
    412: ("precondition_failed", "A precondition failed."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "The request body must be JSON."),
    422: ("invalid_request", "The request is invalid."),
    429: ("throttled", "Too many requests. Retry later."),
    500: ("internal_error", "Something went wrong on our side."),
    501: ("not_implemented", "Not implemented."),
    502: ("bad_gateway", "An upstream service failed."),
    503: ("unavailable", "The service is temporarily unavailable. Retry later."),
    504: ("gateway_timeout", "An upstream service did not answer in time."),
}


class ApiError(Exception):
    """An error the API answers with: HTTP `status`, stable `code`, human `message`.

    `retry_after` (seconds) adds `retry_after` to the body and a Retry-After header;
    keyword extras (e.g. `details=`) are added to the error object as they are.
    """

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            body["retry_after"] = retry_after_seconds(self.retry_after)
        body.update(self.extra)
        return {"error": body}

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r})"


# The one table: each family of domain failure and the HTTP status it is answered with.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Invalid: 400,
    Forbidden: 403,
    Conflict: 409,
    Busy: 503,
}


def domain_api_error(error: DomainError) -> ApiError:
    """The ApiError a domain failure is answered with (500 for a family missing from the table)."""
    status = next((s for family, s in DOMAIN_STATUS.items() if isinstance(error, family)), 500)
    return ApiError(status, error.code, error.message, retry_after=error.retry_after, **error.extra)


def retry_after_seconds(value: float) -> int:
    """Whole seconds, rounded up: Retry-After takes an integer and waiting less is useless."""
    return max(0, int(math.ceil(value)))


def error_response(error: ApiError):
    response = jsonify(error.to_dict())
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(retry_after_seconds(error.retry_after))
    return response


def validation_details(messages: Any) -> Any:
    """webargs nests messages by location ({"json": {"field": [...]}}); a single
    location is flattened so clients see {"field": [...]}."""
    if isinstance(messages, dict) and len(messages) == 1:
        ((location, inner),) = messages.items()
        if location in {"json", "query", "querystring", "form", "headers", "view_args", "path", "files", "cookies"}:
            return inner
    return messages


def from_http_exception(exc: HTTPException) -> ApiError:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    if status in (400, 422) and isinstance(data, dict) and data.get("messages") is not None:
        # flask-smorest/webargs validation: abort(4xx, messages=...) -> exc.data["messages"].
        return ApiError(400, "invalid_request", "The request is invalid.", details=validation_details(data["messages"]))
    if status == 422:
        status = 400  # one status for every invalid request
    code, message = HTTP_CODES.get(status, (f"http_{status}", exc.name or "Error"))
    if isinstance(data, dict) and data.get("message"):
        # flask-smorest's abort(status, message="...") carries a human message of ours.
        message = str(data["message"])
    error = ApiError(status, code, message)
    # werkzeug's TooManyRequests/ServiceUnavailable carry retry_after (seconds or a date).
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, (int, float)):
        error.retry_after = retry_after
    if status == 405 and getattr(exc, "valid_methods", None):
        error.extra["allowed"] = sorted(exc.valid_methods)
    return error


def init_app(app: Flask, translations: Mapping[type[Exception], Callable[[Any], ApiError]] | None = None) -> None:
    """Registers the handlers that give every error the one shape.

    `translations` adds the failures of layers this module cannot import (Graph's,
    which carry Graph's own status and code), each with the function that gives
    its ApiError."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        return error_response(error)

    for family in DOMAIN_STATUS:
        app.register_error_handler(family, lambda error: error_response(domain_api_error(error)))

    for exception, translate in (translations or {}).items():
        app.register_error_handler(exception, lambda error, translate=translate: error_response(translate(error)))

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        response = error_response(from_http_exception(exc))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        # Logged with the stack for operators; the client gets no internals.
        log.exception("Unhandled error")
        return error_response(ApiError(500, "internal_error", HTTP_CODES[500][1]))
