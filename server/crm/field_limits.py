"""The CRM's one set of field limits: how long a value each field takes, in characters.

Every way in enforces these same numbers with the same answer, `FieldTooLong`
(code `field_too_long`, naming the field and its limit): the REST API's schemas
(server/routes/schemas/field_limits.py), the CRM's own writes (contacts, companies,
cases, tasks, notes; so the pages, the pane's routes and contact sync too), and the
import, which reports a row over a limit as a bad row with its line number. A
value is never cut to fit: cutting would store something the user did not write.

The model columns take their lengths from here (server/crm/models/), so a limit
and its column cannot drift apart; a test checks every limit fits its column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.domain_errors import Invalid

FIRST_NAME = 256
LAST_NAME = 256
DISPLAY_NAME = 512
JOB_TITLE = 256
PHONE = 64
COMPANY_NAME = 256
# RFC 5321's limit on an address in a mail path (the stored column is wider).
EMAIL = 254
# A DNS name (RFC 1035), as company domains are stored.
DOMAIN = 253
TITLE = 512  # a case's or task's
DESCRIPTION = 20_000  # a case's or task's
NOTE = 20_000  # a note on a filed email

# Each field's limit and the words that name it.
LIMITS: dict[str, tuple[int, str]] = {
    "first_name": (FIRST_NAME, "First name"),
    "last_name": (LAST_NAME, "Last name"),
    "display_name": (DISPLAY_NAME, "Name"),
    "job_title": (JOB_TITLE, "Job title"),
    "business_phone": (PHONE, "Phone"),
    "mobile_phone": (PHONE, "Mobile phone"),
    "company": (COMPANY_NAME, "Company name"),
    "email": (EMAIL, "Email address"),
    "domain": (DOMAIN, "Domain"),
    "title": (TITLE, "Title"),
    "description": (DESCRIPTION, "Description"),
    "note": (NOTE, "Note"),
}


def limit_of(kind: str) -> int:
    return LIMITS[kind][0]


def too_long_message(kind: str) -> str:
    """The one wording of the refusal, whichever way the value came in."""
    limit, label = LIMITS[kind]
    return f"{label} is too long: at most {limit:,} characters."


class FieldTooLong(Invalid):
    """A value longer than its field's limit. `kind` names the limit (a key of
    LIMITS); `field` the request's name for it (e.g. "phone" for business_phone)."""

    code = "field_too_long"

    def __init__(self, kind: str, field: str | None = None):
        field = field or kind
        message = too_long_message(kind)
        super().__init__(message, field=field, limit=limit_of(kind), details={field: [message]})
        self.kind = kind
        self.field = field
        self.limit = limit_of(kind)


def check_length(kind: str, value: str | None, field: str | None = None) -> str:
    """The value itself ("" for None); raises FieldTooLong when it is over the limit."""
    text = value or ""
    if len(text) > limit_of(kind):
        raise FieldTooLong(kind, field)
    return text


def check_lengths(values: Mapping[str, Any], fields: Mapping[str, str] | None = None) -> None:
    """Checks every value whose key is a limited field (or maps to one through
    `fields`: {"phone": "business_phone"}); raises FieldTooLong for the first over."""
    for key, value in values.items():
        kind = (fields or {}).get(key, key)
        if kind in LIMITS and isinstance(value, str):
            check_length(kind, value, key)


def joined_name(first: str, last: str) -> str:
    """A display name made of first and last name. Two names at their limits join
    longer than a display name may be; the made name is then shortened, which loses
    nothing: both names are stored whole."""
    return " ".join(p for p in (first, last) if p)[:DISPLAY_NAME]
