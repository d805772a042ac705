"""The signed-in user's sync settings, over their tenant's defaults."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from server.api import Blueprint
from server.auth import require_auth
from server.crm import audit
from server.crm.models import AUTO_SYNC_MODES, COMPOSE_DEFAULTS
from server.routes.request_mailbox import current_mailbox
from server.sync.subscriptions import follow_settings

bp = Blueprint(
    "settings", __name__, url_prefix="/api/v1/settings", description="Automatic sync and filing-from-compose settings"
)

COMPOSE_DEFAULT_DOC = (
    'Whether the compose pane\'s "File in the CRM when sent" starts on: "always", "crm_recipients" (when a '
    'recipient is a CRM contact) or "never"'
)
ASK_ON_SEND_DOC = 'Ask "File this email in the CRM?" at Send when a recipient is a CRM contact and nothing was decided'

TENANT_KEYS = ("auto_sync", "auto_link_companies", "never_sync", "create_unknown_senders", "compose_default")

MAX_NEVER_SYNC = 1000


class TenantSettingsSchema(ma.Schema):
    auto_sync = ma.fields.String(required=True)
    auto_link_companies = ma.fields.Boolean(required=True)
    never_sync = ma.fields.List(ma.fields.String(), required=True)
    create_unknown_senders = ma.fields.Boolean(
        metadata={"description": "Automatic and bulk sync create CRM contacts for unknown external senders"}
    )
    compose_default = ma.fields.String(metadata={"description": "The organization's default"})
    compose_limit = ma.fields.String(
        validate=ma.validate.OneOf(COMPOSE_DEFAULTS),
        metadata={"description": "The admin's restriction: compose_default never files more than this"},
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
    compose_default = ma.fields.String(
        validate=ma.validate.OneOf(COMPOSE_DEFAULTS),
        metadata={"description": COMPOSE_DEFAULT_DOC + " (effective: the admin's compose_limit applied)"},
    )
    ask_on_send = ma.fields.Boolean(metadata={"description": ASK_ON_SEND_DOC})
    tenant = ma.fields.Nested(TenantSettingsSchema, dump_only=True)


class SettingsUpdateSchema(ma.Schema):
    auto_sync = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(AUTO_SYNC_MODES))
    auto_link_companies = ma.fields.Boolean(allow_none=True)
    never_sync = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=320)),
        allow_none=True,
        validate=ma.validate.Length(max=MAX_NEVER_SYNC),
    )
    compose_default = ma.fields.String(
        allow_none=True, validate=ma.validate.OneOf(COMPOSE_DEFAULTS), metadata={"description": COMPOSE_DEFAULT_DOC}
    )
    ask_on_send = ma.fields.Boolean(allow_none=True, metadata={"description": ASK_ON_SEND_DOC})


def _settings(mailbox) -> dict:
    user = mailbox.user
    effective = user.effective_settings()
    return {
        "auto_sync": effective["auto_sync"],
        "auto_link_companies": bool(effective["auto_link_companies"]),
        "never_sync": list((user.settings or {}).get("never_sync") or []),
        "compose_default": effective["compose_default"],
        "ask_on_send": bool(effective["ask_on_send"]),
        "tenant": {k: v for k, v in user.tenant.effective_settings().items() if k in (*TENANT_KEYS, "compose_limit")},
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
