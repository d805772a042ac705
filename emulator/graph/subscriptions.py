"""Subscriptions (webhooks) for messages: create with validation handshake, list, get, renew, delete.

Resources: "me/messages", "me/mailFolders('Inbox')/messages", "users/{id|upn}/mailFolders/{id}/messages"
(with or without a leading slash, any case). Expiration at most 4230 minutes ahead,
as documented for Outlook messages. The notification URLs must be https, except
on localhost, where a local backend may run plain http.
"""

import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from emulator.graph import access
from emulator.graph.errors import ODATA_DISABLED, GraphError, bad_request
from emulator.graph.routing import ok, route
from emulator.notifications import validate_endpoint
from emulator.store.clock import parse_iso, utcnow
from emulator.store.model import Subscription

MAX_MINUTES = 4230
_RESOURCE = re.compile(
    r"^/?(?:me|users/(?P<user>[^/()]+)|users\('(?P<user_q>[^']+)'\))"
    r"(?:/mailfolders(?:/(?P<folder>[^/()]+)|\('(?P<folder_q>[^']+)'\)))?/messages/?$",
    re.IGNORECASE,
)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _context(req, entity=True):
    return req.context("subscriptions/$entity" if entity else "subscriptions")


def _check_url(name: str, url) -> None:
    if not isinstance(url, str) or not url:
        raise bad_request(f"The '{name}' property is required.", "InvalidRequest")
    parts = urlsplit(url)
    local = (parts.hostname or "").lower() in _LOCAL_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise bad_request(f"The {name} must be an absolute https URL: '{url}'.", "InvalidRequest")


def _expiration(value):
    if not isinstance(value, str):
        raise bad_request("The 'expirationDateTime' property is required.", "InvalidRequest")
    try:
        when = parse_iso(value)
    except ValueError:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'.", "RequestBodyRead"
        ) from None
    now = utcnow()
    if when <= now:
        raise bad_request("Subscription expiration must be in the future.", "ExtensionError")
    if when > now + timedelta(minutes=MAX_MINUTES):
        raise bad_request(
            f"Operation: Create; Exception: [Status Code: BadRequest; Reason: Subscription "
            f"expiration can only be {MAX_MINUTES} minutes in the future.]",
            "ExtensionError",
        )
    return when


def _owned(req, subscription_id):
    """The caller's app's subscription, or 404 (another app's looks missing, as in Graph)."""
    caller = access.authenticate(req)
    req.store.prune_expired_subscriptions()
    sub = req.store.subscriptions.get(subscription_id)
    if (
        sub is None
        or sub.client_id != (caller.client_id or "")
        or sub.tid != caller.tid
        or (not caller.app_only and sub.creator_oid != caller.oid)
    ):
        raise GraphError(404, "ResourceNotFound", f"The object was not found. Subscription '{subscription_id}'.")
    return sub


@route("POST", "/subscriptions")
def create_subscription(req):
    """Create a subscription after the validation handshake with its endpoints."""
    caller = access.authenticate(req)
    body = req.json()
    change_types = [c.strip() for c in str(body.get("changeType") or "").split(",") if c.strip()]
    if not change_types or any(c not in ("created", "updated", "deleted") for c in change_types):
        raise bad_request(f"Invalid 'changeType' attribute: '{body.get('changeType')}'.", "InvalidRequest")
    _check_url("notificationUrl", body.get("notificationUrl"))
    lifecycle_url = body.get("lifecycleNotificationUrl")
    if lifecycle_url is not None:
        _check_url("lifecycleNotificationUrl", lifecycle_url)
    client_state = body.get("clientState")
    if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
        raise bad_request("The clientState must be a string of at most 128 characters.", "InvalidRequest")
    if body.get("includeResourceData") and not body.get("encryptionCertificate"):
        raise bad_request(
            "A valid encryption certificate must be provided if includeResourceData is true.", "InvalidRequest"
        )
    resource = body.get("resource")
    m = _RESOURCE.match(resource or "") if isinstance(resource, str) else None
    if not m:
        raise bad_request(
            f"Resource '{resource}' is not supported for subscriptions by this emulator.", "ExtensionError"
        )
    expiration = _expiration(body.get("expirationDateTime"))
    user_ref = m.group("user") or m.group("user_q")
    folder_ref = m.group("folder") or m.group("folder_q")
    try:
        owner = access.mailbox(req, user_ref, "mail.read")
    except GraphError as e:
        if e.message != ODATA_DISABLED:
            raise
        # Subscriptions pass Exchange's refusal on in their own wrapping, as Graph does.
        raise GraphError(
            403, "ExtensionError", f"Operation: Create; Exception: [Status Code: Forbidden; Reason: {ODATA_DISABLED}]"
        ) from None
    folder = None
    if folder_ref:
        folder = req.store.mail_folder(owner, folder_ref)
        if folder is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    # The handshake runs without the store lock: the endpoint may call us back.
    for url in filter(None, (body["notificationUrl"], lifecycle_url)):
        valid, reason = validate_endpoint(url)
        if not valid:
            raise bad_request(
                "Subscription validation request failed. Notification endpoint must respond with "
                f"200 OK to validation request. ({reason})",
                "ValidationError",
            )

    sub = Subscription(
        id=str(uuid.uuid4()),
        resource=resource,
        change_types=change_types,
        notification_url=body["notificationUrl"],
        lifecycle_url=lifecycle_url,
        client_state=client_state,
        expiration=expiration,
        client_id=caller.client_id or "",
        tid=caller.tid,
        creator_oid=None if caller.app_only else caller.oid,
        mailbox_oid=owner.oid,
        folder_id=folder.id if folder else None,
        immutable_ids=req.wants_immutable_ids(),
        latest_tls=body.get("latestSupportedTlsVersion") or "v1_2",
    )
    req.store.add_subscription(sub)
    return ok({"@odata.context": _context(req), **sub.to_graph()}, 201)


@route("GET", "/subscriptions")
def list_subscriptions(req):
    """The calling app's subscriptions (for delegated callers: those of the signed-in user)."""
    caller = access.authenticate(req)
    with req.store.lock:
        req.store.prune_expired_subscriptions()
        subs = [
            s
            for s in req.store.subscriptions.values()
            if s.client_id == (caller.client_id or "")
            and s.tid == caller.tid
            and (caller.app_only or s.creator_oid == caller.oid)
        ]
        value = [s.to_graph() for s in subs]
    return ok({"@odata.context": _context(req, entity=False), "value": value})


@route("GET", "/subscriptions{ITEM}")
def get_subscription(req, id):
    """One subscription."""
    with req.store.lock:
        return ok({"@odata.context": _context(req), **_owned(req, id).to_graph()})


@route("PATCH", "/subscriptions{ITEM}")
def renew_subscription(req, id):
    """Renew: set a new expirationDateTime (again at most 4230 minutes ahead)."""
    body = req.json()
    with req.store.lock:
        sub = _owned(req, id)
        if "expirationDateTime" not in body:
            raise bad_request("Only expirationDateTime can be updated.", "InvalidRequest")
        sub.expiration = _expiration(body["expirationDateTime"])
        return ok({"@odata.context": _context(req), **sub.to_graph()})


@route("DELETE", "/subscriptions{ITEM}")
def delete_subscription(req, id):
    """Delete a subscription; no more notifications for it."""
    with req.store.lock:
        _owned(req, id)
        req.store.remove_subscription(id)
    return ok(None, 204)


@route("POST", "/subscriptions{ITEM}/reauthorize")
def reauthorize_subscription(req, id):
    """Answer a reauthorizationRequired challenge; the subscription keeps flowing."""
    with req.store.lock:
        _owned(req, id)
    return ok(None, 204)
