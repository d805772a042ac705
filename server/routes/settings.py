"""The signed-in user's sync settings, over their tenant's defaults."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from server.api import Blueprint
from server.auth import require_auth
from server.crm import audit
from server.crm.models import AUTO_SYNC_MODES
from server.routes.request_mailbox import current_mailbox
from server.sync.subscriptions import follow_settings

bp = Blueprint("settings", __name__, url_prefix="/api/v1/settings", description="Automatic sync settings")

MAX_NEVER_SYNC = 1000


class TenantSettingsSchema(ma.Schema):
    auto_sync = ma.fields.String(required=True)
    auto_link_companies = ma.fields.Boolean(required=True)
    never_sync = ma.fields.List(ma.fields.String(), required=True)
    create_unknown_senders = ma.fields.Boolean(
        metadata={"description": "Automatic and bulk sync create CRM contacts for unknown external senders"}
    )


class SettingsSchema(ma.Schema):
    auto_sync = ma.fields.String(required=True, validate=ma.validate.OneOf(AUTO_SYNC_MODES))
    auto_link_companies = ma.fields.Boolean(required=True)
    never_sync = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=320)),
        required=True,
        validate=ma.validate.Length(max=MAX_NEVER_SYNC),
        metadata={"description": "Personal never-sync addresses and domains (the tenant's apply too)"},
    )
    tenant = ma.fields.Nested(TenantSettingsSchema, dump_only=True)
    automatic_sync_blocked = ma.fields.Boolean(
        dump_only=True,
        metadata={
            "description": "True when the organisation keeps the app out of this mailbox (Exchange's RBAC for "
            "Applications or an application access policy): automatic and bulk sync leave it alone, the pane's "
            "own commands still work"
        },
    )
    automatic_sync_blocked_since = ma.fields.DateTime(
        dump_only=True, allow_none=True, metadata={"description": "When Microsoft 365 first refused the app access"}
    )


class SettingsUpdateSchema(ma.Schema):
    auto_sync = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(AUTO_SYNC_MODES))
    auto_link_companies = ma.fields.Boolean(allow_none=True)
    never_sync = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=320)),
        allow_none=True,
        validate=ma.validate.Length(max=MAX_NEVER_SYNC),
    )


def _settings(mailbox) -> dict:
    user = mailbox.user
    effective = user.effective_settings()
    return {
        "automatic_sync_blocked": user.app_access_refused_at is not None,
        "automatic_sync_blocked_since": user.app_access_refused_at,
        "auto_sync": effective["auto_sync"],
        "auto_link_companies": bool(effective["auto_link_companies"]),
        "never_sync": list((user.settings or {}).get("never_sync") or []),
        "tenant": {
            k: v
            for k, v in user.tenant.effective_settings().items()
            if k in ("auto_sync", "auto_link_companies", "never_sync", "create_unknown_senders")
        },
    }


@bp.get("/me")
@require_auth
@bp.response(200, SettingsSchema)
@bp.doc(security=[{"bearerAuth": []}])
def get_mine():
    """Show my settings and the tenant defaults they override."""
    return _settings(current_mailbox())


@bp.put("/me")
@require_auth
@bp.arguments(SettingsUpdateSchema)
@bp.response(200, SettingsSchema)
@bp.doc(security=[{"bearerAuth": []}])
def put_mine(body):
    """Change my settings (null: back to the tenant's). Switching automatic sync on files
    the messages waiting for sync (marked unsynced) at once, in a catch-up round."""
    mailbox = current_mailbox()
    before = mailbox.user.effective_settings().get("auto_sync")
    own_before = dict(mailbox.user.settings or {})
    mailbox.user.update_settings(**body)
    audit.record_change(
        mailbox.session,
        mailbox.tenant_id,
        mailbox.user,
        audit.SETTINGS_OWN_CHANGED,
        own_before,
        dict(mailbox.user.settings or {}),
        target=("user", mailbox.user.id),
    )
    mailbox.session.commit()
    after = mailbox.user.effective_settings().get("auto_sync")
    follow_settings(current_app._get_current_object(), before, after, user=mailbox.user)
    return _settings(mailbox)
