"""Why a change to a CRM record was refused: not found, invalid, or clashing with
another record. Each is a domain error, so the REST API answers it with its family's
status and these words."""

from __future__ import annotations

from server.domain_errors import Conflict, Invalid, NotFound


class RecordNotFound(NotFound):
    """No such record in this tenant (also when it is another tenant's); `detail`
    says which, for logs: the API answers the same for every record."""

    def __init__(self, detail: str):
        super().__init__("No such record.")
        self.detail = detail


class RecordConflict(Conflict):
    """The change clashes with another record (e.g. a second company of one name)."""


class RecordInvalid(Invalid):
    """A field value the CRM cannot take; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message, details={field: [message]})
        self.field = field
