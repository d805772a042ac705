"""The signed-in user's sync settings, over their tenant's defaults and within an
administrator's restrictions; and an administrator's restrictions of one user."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from server.api import Blueprint
from server.auth import current_principal, require_auth
from server.crm import audit
from server.crm.models import AUTO_SYNC_MODES, COMPOSE_DEFAULTS, User
from server.crm.record_errors import RecordNotFound
from server.db import db_session
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


class RestrictionsSchema(ma.Schema):
    auto_sync = ma.fields.String(
        allow_none=True,
        validate=ma.validate.OneOf(AUTO_SYNC_MODES),
        metadata={"description": "The widest automatic sync allowed (null: no limit)"},
    )
    auto_link_companies = ma.fields.Boolean(
        allow_none=True, metadata={"description": "false: companies are never linked (null: no limit)"}
    )
    never_sync = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=320)),
        allow_none=True,
        validate=ma.validate.Length(max=MAX_NEVER_SYNC),
        metadata={"description": "Addresses and domains added to the user's never-sync list"},
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
    restrictions = ma.fields.Nested(
        RestrictionsSchema,
        dump_only=True,
        metadata={"description": "An administrator's limits: they only narrow what this mailbox files"},
    )
    is_admin = ma.fields.Boolean(
        dump_only=True, metadata={"description": "Whether you administer CRM Sync (Entra ID's Crm.Admin role)"}
    )


class UserSettingsSchema(ma.Schema):
    user_id = ma.fields.Integer(dump_only=True)
    upn = ma.fields.String(dump_only=True)
    auto_sync = ma.fields.String(dump_only=True, metadata={"description": "What applies to the mailbox now"})
    chosen_auto_sync = ma.fields.String(
        dump_only=True, metadata={"description": "The user's own choice, or the tenant's default"}
    )
    restrictions = ma.fields.Nested(RestrictionsSchema, dump_only=True)


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


def _restrictions(user: User) -> dict:
    limits = user.restrictions or {}
    return {
        "auto_sync": limits.get("auto_sync"),
        "auto_link_companies": limits.get("auto_link_companies"),
        "never_sync": list(limits.get("never_sync") or []),
    }


def _settings(mailbox) -> dict:
    user = mailbox.user
    effective = user.effective_settings()
    return {
        "automatic_sync_blocked": user.app_access_refused_at is not None,
        "automatic_sync_blocked_since": user.app_access_refused_at,
        "auto_sync": effective["auto_sync"],
        "auto_link_companies": bool(effective["auto_link_companies"]),
        "never_sync": list((user.settings or {}).get("never_sync") or []),
        "compose_default": effective["compose_default"],
        "ask_on_send": bool(effective["ask_on_send"]),
        "tenant": {k: v for k, v in user.tenant.effective_settings().items() if k in (*TENANT_KEYS, "compose_limit")},
        "restrictions": _restrictions(user),
        "is_admin": current_principal().is_admin,
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


@bp.put("/users/<int:user_id>")
@require_auth(admin=True)
@bp.arguments(RestrictionsSchema)
@bp.response(200, UserSettingsSchema)
@bp.doc(security=[{"bearerAuth": []}])
def restrict_user(body, user_id: int):
    """Restrict what one user's mailbox files (administrators only; null lifts a limit).
    A restriction only narrows the user's own choice or the tenant's default: it never
    turns filing on."""
    session = db_session()
    principal = current_principal()
    tenant_id = principal.tid
    user = User.get(session, tenant_id, user_id)
    if user is None:
        raise RecordNotFound(f"user {user_id}")
    before = user.effective_settings().get("auto_sync")
    restrictions_before = dict(user.restrictions or {})
    user.restrict(**body)
    admin = User.by_oid(session, tenant_id, principal.oid) or audit.Actor(
        None, principal.name or "", principal.upn or ""
    )
    audit.record_change(
        session,
        tenant_id,
        admin,
        audit.SETTINGS_USER_OVERRIDE_CHANGED,
        restrictions_before,
        dict(user.restrictions or {}),
        target=("user", user.id),
    )
    session.commit()
    after = user.effective_settings().get("auto_sync")
    follow_settings(current_app._get_current_object(), before, after, user=user)
    return {
        "user_id": user.id,
        "upn": user.upn,
        "auto_sync": after,
        "chosen_auto_sync": user.chosen_settings().get("auto_sync"),
        "restrictions": _restrictions(user),
    }
