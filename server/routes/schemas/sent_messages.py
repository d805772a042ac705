"""Schemas of finding a sent message from what the send handler saw of it."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from webargs.fields import DelimitedList

from server.routes.schemas.field_limits import Limited

MAX_RECIPIENTS = 20
# No mail this add-in files was sent before this (and Graph takes four-digit years only).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class SentQuerySchema(ma.Schema):
    subject = ma.fields.String(
        load_default="", validate=ma.validate.Length(max=1024), metadata={"description": "The subject as sent"}
    )
    sent_at = ma.fields.AwareDateTime(
        required=True,
        validate=ma.validate.Range(min=EARLIEST),
        metadata={"description": "When Send was pressed (ISO 8601 with a zone), by the client's clock"},
    )
    to = DelimitedList(
        ma.fields.String(validate=Limited("email", "address")),
        load_default=list,
        validate=ma.validate.Length(max=MAX_RECIPIENTS),
        metadata={"description": "Addresses the message went to (comma-separated); each must be on it"},
    )


class SentMessageSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "Graph id of the Sent Items copy"})
    subject = ma.fields.String(required=True)
    sent_at = ma.fields.String(allow_none=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(["none", "pending", "synced", "excluded"]))
    crm_email_id = ma.fields.Integer(allow_none=True)


class SentMessagesSchema(ma.Schema):
    messages = ma.fields.List(
        ma.fields.Nested(SentMessageSchema),
        required=True,
        metadata={"description": "The candidates, the closest in time first (at most 5); empty when none"},
    )
