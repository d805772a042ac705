"""Why a change to a CRM record was refused: not found, invalid, or clashing with
another record. The REST API answers each with its own status."""
from __future__ import annotations


class RecordNotFound(LookupError):
    """No such record in this tenant (also when it is another tenant's)."""


class RecordConflict(ValueError):
    """The change clashes with another record (e.g. a second company of one name)."""


class RecordInvalid(ValueError):
    """A field value the CRM cannot take; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message
