"""Every record page is scoped to the signed-in user's tenant: another tenant's id
is answered 404, exactly like an id that does not exist."""

from __future__ import annotations

from flask import abort, g


def tenant() -> str:
    """The signed-in user's tenant (set by the page guard)."""
    return g.crm_user.tenant_id


def found(record):
    """The record, or 404: used for every id in a URL."""
    if record is None:
        abort(404)
    return record
