"""The CRM's field limits in the API's schemas: `Limited(kind)` is a marshmallow
Length (so OpenAPI documents maxLength) that answers a value over the limit the way
the CRM itself does, with FieldTooLong (400 `field_too_long`, naming the field and
its limit), never with a generic validation error."""

from __future__ import annotations

import marshmallow as ma

from server.crm.field_limits import check_length, limit_of


class Limited(ma.validate.Length):
    """At most the CRM's limit for `kind` (server/crm/field_limits.py); `field` is the
    request's name for the value when it differs (e.g. "phone")."""

    def __init__(self, kind: str, field: str | None = None, *, min: int | None = None):
        super().__init__(min=min, max=limit_of(kind))
        self.kind = kind
        self.field = field or kind

    def __call__(self, value):
        check_length(self.kind, value, self.field)
        return super().__call__(value)
