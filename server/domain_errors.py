"""The failures the layers below the routes (crm, graph, sync) raise, in the API's
words. No Flask here, so the CRM can raise them; `server.errors` gives each family
its HTTP status.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure of the layers below the routes, in the API's words: a stable `code`,
    a human `message`, optionally `retry_after` (seconds) and extra fields for the
    error object (e.g. `details=`). Which family it belongs to (the subclasses
    below) decides its HTTP status, in DOMAIN_STATUS; a module defines its own
    failures as subclasses of a family, with their code."""

    code = "internal_error"
    retry_after: float | None = None

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retry_after is not None:
            self.retry_after = retry_after
        self.extra = extra


class NotFound(DomainError, LookupError):
    """No such record, or one of another tenant (which must read the same)."""

    code = "not_found"


class Invalid(DomainError, ValueError):
    """A value the domain cannot take."""

    code = "invalid_request"


class Forbidden(DomainError, PermissionError):
    """The caller may not do this to this record."""

    code = "forbidden"


class Conflict(DomainError, ValueError):
    """The change clashes with another record."""

    code = "conflict"


class Busy(DomainError):
    """Someone else is doing this right now: retrying after `retry_after` seconds works."""

    code = "busy"
