"""Liveness: answers without touching the database, Graph or auth."""

from __future__ import annotations

import marshmallow as ma

from server.api import Blueprint

bp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)


@bp.get("/health")
@bp.response(200, HealthSchema)
def health():
    """Report that the service is up."""
    return {"status": "ok"}
