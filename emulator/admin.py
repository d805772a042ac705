"""The `/_emulator/` admin API: a contract for tests, scripts and benchmarks.

No authentication: the emulator is a dev and test tool. Documented in
docs/ARCHITECTURE.md ("Emulator admin API") and emulator/README.md.
"""

import json
from datetime import datetime, timedelta
from types import GeneratorType

from flask import Blueprint, current_app, jsonify, request

from emulator import tokens
from emulator.faults import FaultRuleError
from emulator.oauth import OAuthError, granted_roles

bp = Blueprint("admin", __name__)


def _state():
    return current_app.extensions["emulator"]


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(AdminError)
def _admin_error(e: AdminError):
    return jsonify({"error": {"code": e.code, "message": e.message}}), e.status


@bp.errorhandler(OAuthError)
def _oauth_error(e: OAuthError):
    return jsonify({"error": {"code": e.error, "message": f"AADSTS{e.code}: {e.message}"}}), 400


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AdminError(400, "BadRequest", "expected a JSON object body")
    return body


def _user(key: str | None):
    if not key:
        raise AdminError(400, "BadRequest", "upn is required")
    user = _state().store.find_user(key)
    if user is None:
        raise AdminError(404, "UserNotFound", f"no seeded user '{key}'")
    return user


def _app(client_id: str | None = None):
    """The named app, or the fixture's first app (the one the backend is)."""
    apps = _state().store.apps
    if client_id:
        if client_id not in apps:
            raise AdminError(404, "AppNotFound", f"no app '{client_id}'")
        return apps[client_id]
    if not apps:
        raise AdminError(404, "AppNotFound", "the fixture has no app")
    return next(iter(apps.values()))


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        raise AdminError(400, "BadRequest", f"{name} must be an integer") from None


@bp.get("/users")
def users():
    """The seeded users."""
    return jsonify(
        {
            "users": [
                {"upn": u.upn, "oid": u.oid, "tid": u.tid, "display_name": u.display_name, "mail": u.mail}
                for u in _state().store.users.values()
            ]
        }
    )


@bp.get("/pane-token")
def pane_token():
    """The token Office hands the task pane: aud = our API, scp=access_as_user; `azp`
    names the client that asked for it (Office's by default, as Office SSO's token)."""
    user = _user(request.args.get("upn"))
    ver = _int_arg("ver", 2)
    if ver not in (1, 2):
        raise AdminError(400, "BadRequest", "ver must be 1 or 2")
    token = tokens.api_token(
        _state(),
        user,
        _app(request.args.get("client_id")),
        ver=ver,
        scope=request.args.get("scope", "access_as_user"),
        lifetime_s=_int_arg("expires_in", tokens.DEFAULT_LIFETIME_S),
        client_id=request.args.get("azp") or tokens.OFFICE_CLIENT_ID,
    )
    return jsonify({"access_token": token})


@bp.get("/graph-token")
def graph_token():
    """A delegated Graph token with every scope consented in the user's tenant."""
    user = _user(request.args.get("upn"))
    app = _app(request.args.get("client_id"))
    consent = (app.consent or {}).get(user.tid) or {}
    scopes = request.args.get("scope", "").split() or [
        s for s in consent.get("scopes", []) if s.lower() not in ("offline_access", "openid", "profile", "email")
    ]
    token = tokens.graph_user_token(
        _state(), user, app, scopes, lifetime_s=_int_arg("expires_in", tokens.DEFAULT_LIFETIME_S)
    )
    return jsonify({"access_token": token})


@bp.get("/app-token")
def app_token():
    """An app-only Graph token with the roles consented in tenant `tid`."""
    tid = request.args.get("tid")
    if not tid or tid not in _state().store.tenants:
        raise AdminError(404, "TenantNotFound", f"no tenant '{tid}'")
    app = _app(request.args.get("client_id"))
    token = tokens.graph_app_token(
        _state(), tid, app, granted_roles(app, tid), lifetime_s=_int_arg("expires_in", tokens.DEFAULT_LIFETIME_S)
    )
    return jsonify({"access_token": token})


@bp.get("/requests")
def list_requests():
    """The request log (Graph and token requests)."""
    return jsonify({"requests": _state().log.entries()})


@bp.delete("/requests")
def clear_requests():
    _state().log.clear()
    return jsonify({"requests": []})


@bp.post("/faults")
def add_fault():
    """Add a fault rule; answers its id."""
    try:
        rule = _state().faults.add(_json_body())
    except FaultRuleError as e:
        raise AdminError(400, "BadRequest", str(e)) from None
    return jsonify({"id": rule.id})


@bp.get("/faults")
def list_faults():
    return jsonify({"faults": _state().faults.rules()})


@bp.delete("/faults")
def clear_faults():
    _state().faults.clear()
    return jsonify({"faults": []})


@bp.post("/limits")
def set_limits():
    """Throttling limits: mailbox_concurrency, mailbox_requests_per_window, window_s."""
    body = _json_body()
    try:
        limits = _state().faults.set_limits(**body)
    except (TypeError, ValueError) as e:
        raise AdminError(400, "BadRequest", f"bad limit: {e}") from None
    return jsonify(limits)


@bp.post("/account")
def set_account():
    """A user's account as Entra's admin changes it: {"upn", "enabled"?: bool (Entra's
    accountEnabled: a disabled user can neither sign in nor renew a token),
    "revoke_sessions"?: true (revokeSignInSessions: every refresh token of the user
    is refused from now on)}."""
    body = _json_body()
    user = _user(body.get("upn"))
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise AdminError(400, "BadRequest", "enabled must be true or false")
        _state().store.set_account_enabled(user.oid, body["enabled"])
    revoked = _state().grants.revoke_user(user.oid) if body.get("revoke_sessions") else 0
    return jsonify({"upn": user.upn, "account_enabled": user.account_enabled, "revoked_refresh_tokens": revoked})


@bp.post("/consent")
def set_consent():
    """Replace an app's consent in a tenant (scopes and/or roles)."""
    body = _json_body()
    tid, client_id = body.get("tid"), body.get("client_id") or _app().client_id
    if tid not in _state().store.tenants:
        raise AdminError(404, "TenantNotFound", f"no tenant '{tid}'")
    _app(client_id)
    _state().store.set_consent(tid, client_id, scopes=body.get("scopes"), roles=body.get("roles"))
    return jsonify(_state().store.apps[client_id].consent.get(tid) or {})


@bp.post("/messages")
def deliver_message():
    """A new message arrives in a mailbox (fires change notifications)."""
    body = _json_body()
    user = _user(body.get("upn"))
    if not isinstance(body.get("message"), dict):
        raise AdminError(400, "BadRequest", "message must be a JSON object")
    try:
        message = _state().store.deliver_message(user.upn, body.get("folder") or "inbox", body["message"])
    except (KeyError, ValueError) as e:
        raise AdminError(400, "BadRequest", f"cannot deliver: {e}") from None
    return jsonify(message), 201


@bp.post("/messages/send")
def send_message():
    """A user sends a message: {"upn", "message"} (Graph message JSON: subject, body,
    toRecipients, ccRecipients, bccRecipients, categories, singleValueExtendedProperties,
    conversationId?, internetMessageId?). The sender's copy lands in Sent Items with its
    categories and extended properties; tenant recipients get it in their Inbox; every
    copy fires change notifications. Answers {"sent", "delivered": [{"upn", "id"}]} (201)."""
    body = _json_body()
    user = _user(body.get("upn"))
    if not isinstance(body.get("message"), dict):
        raise AdminError(400, "BadRequest", "message must be a JSON object")
    try:
        answer = _state().store.send_message(user.upn, body["message"], bool(body.get("immutable_ids")))
    except (KeyError, ValueError) as e:
        raise AdminError(400, "BadRequest", f"cannot send: {e}") from None
    return jsonify(answer), 201


@bp.post("/messages/bulk")
def deliver_messages():
    """Many messages arrive in one mailbox folder at once (tests and benchmarks):
    {"upn", "folder", "messages": [...]} or {"upn", "folder", "count", "template", "start"?,
    "step_s"?, "ids"?: false}; answers {"count", "ids"} (REST ids; none when "ids" is false)."""
    body = _json_body()
    user = _user(body.get("upn"))
    messages = body.get("messages")
    if messages is None and "count" in body:
        messages = _from_template(body)
    if not isinstance(messages, (list, GeneratorType)):
        raise AdminError(400, "BadRequest", "messages must be a list of JSON objects")
    ids = []
    try:
        for message in messages:
            if not isinstance(message, dict):
                raise ValueError("messages must be JSON objects")
            ids.append(_state().store.deliver_message(user.upn, body.get("folder") or "inbox", message)["id"])
    except (KeyError, ValueError) as e:
        raise AdminError(400, "BadRequest", f"cannot deliver: {e}") from None
    return jsonify({"count": len(ids), "ids": ids if body.get("ids", True) else []}), 201


def _from_template(body: dict):
    """{"count": N, "template": {...}, "start": ISO time, "step_s": S}: N messages, each the
    template with "{n}" in its strings replaced by 0..N-1, received `step_s` apart from
    `start` (for benchmarks: no per-message JSON over HTTP)."""
    try:
        count = int(body["count"])
        step = float(body.get("step_s", 1))
        start = datetime.fromisoformat(str(body.get("start") or "2026-01-01T00:00:00Z").replace("Z", "+00:00"))
    except (TypeError, ValueError) as e:
        raise AdminError(400, "BadRequest", f"bad count, start or step_s: {e}") from None
    if not 0 <= count <= 1_000_000 or not isinstance(body.get("template"), dict):
        raise AdminError(400, "BadRequest", "count must be 0..1000000 and template a JSON object")
    text = json.dumps(body["template"])
    for n in range(count):
        message = json.loads(text.replace("{n}", str(n)))
        message["receivedDateTime"] = (start + timedelta(seconds=n * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield message


@bp.get("/subscriptions")
def list_subscriptions():
    """Every subscription, whoever created it."""
    with _state().store.lock:
        subs = [s.to_graph() | {"mailbox_oid": s.mailbox_oid} for s in _state().store.subscriptions.values()]
    return jsonify({"subscriptions": subs})


@bp.post("/lifecycle")
def fire_lifecycle():
    """Send a lifecycle event for a subscription: {"subscription_id", "event"}
    (reauthorizationRequired | subscriptionRemoved | missed)."""
    body = _json_body()
    try:
        _state().store.fire_lifecycle(str(body.get("subscription_id") or ""), str(body.get("event") or ""))
    except KeyError:
        raise AdminError(404, "SubscriptionNotFound", "no such subscription") from None
    except ValueError as e:
        raise AdminError(400, "BadRequest", str(e)) from None
    return jsonify({"status": "sent"}), 202


@bp.post("/reset")
def reset():
    """Reload the fixture; clear the log, faults, limits, codes and refresh tokens."""
    _state().reset()
    return jsonify({"status": "reset"})
