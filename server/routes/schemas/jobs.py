"""Schemas of background work: a bulk sync request, the job it starts, a job's progress."""

from __future__ import annotations

import marshmallow as ma

# Well-known folder names or Graph folder ids (URL-safe base64).
FOLDER = ma.validate.Regexp(r"^[A-Za-z0-9_\-=]{1,512}$", error="Not a folder name or id.")


class BulkSyncSchema(ma.Schema):
    folder = ma.fields.String(required=True, validate=FOLDER)
    since = ma.fields.Date(required=True)


class JobIdSchema(ma.Schema):
    job_id = ma.fields.Integer(required=True)


class ProgressSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    state = ma.fields.String(required=True)
    done = ma.fields.Integer(required=True)
    total = ma.fields.Integer(allow_none=True, required=True)
    failed = ma.fields.Integer(required=True)
    eta_s = ma.fields.Float(allow_none=True, required=True)
    error = ma.fields.String()
    summary = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={
            "description": "A sync job's outcomes so far, each counted apart: filed, already_filed, marked "
            "(skipped: marked synced or Don't sync to CRM), no_contact (skipped: no CRM contact on it), "
            "never_sync, skipped (other), failed, contacts_created"
        },
    )
