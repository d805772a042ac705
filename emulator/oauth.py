"""OAuth2 building blocks shared by the token endpoint and the sign-in page.

Entra's error shape, client authentication, tenant lookup, scope parsing and
consent checks, and the in-memory authorization codes and refresh tokens.
"""

import base64
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from flask import jsonify

from emulator.tokens import GRAPH_APP_ID, GRAPH_RESOURCE

OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
MULTI_TENANT_SEGMENTS = ("organizations", "common")
CODE_LIFETIME_S = 600
REFRESH_LIFETIME_S = 90 * 24 * 3600


class OAuthError(Exception):
    """An Entra-style OAuth2 error; rendered by `oauth_error`."""

    def __init__(self, error: str, code: int, message: str, status: int = 400, suberror: str | None = None):
        super().__init__(f"AADSTS{code}: {message}")
        self.error, self.code, self.message = error, code, message
        self.status, self.suberror = status, suberror

    def response(self):
        return oauth_error(
            self.error, f"AADSTS{self.code}: {self.message}", [self.code], status=self.status, suberror=self.suberror
        )

    def redirect_params(self) -> dict:
        return {"error": self.error, "error_description": f"AADSTS{self.code}: {self.message}"}


def oauth_error(error: str, description: str, error_codes: list, status: int = 400, suberror: str | None = None):
    """Entra's error body: error, error_description (with trace lines), error_codes, ids, error_uri."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": f"{description}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {now}",
        "error_codes": error_codes,
        "timestamp": now,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
    }
    if error_codes:
        body["error_uri"] = f"https://login.microsoftonline.com/error?code={error_codes[0]}"
    if suberror:
        body["suberror"] = suberror
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store, no-cache"
    return response


# -- tenants -------------------------------------------------------------------
def find_tenant(store, segment: str):
    """The Tenant a path segment names (tid or verified domain), or None."""
    wanted = segment.lower()
    for tenant in store.tenants.values():
        if tenant.tid.lower() == wanted or wanted in (d.lower() for d in tenant.domains):
            return tenant
    return None


def tenant_or_error(store, segment: str):
    """(Tenant or None for organizations/common); raises OAuthError for anything else."""
    if segment.lower() in MULTI_TENANT_SEGMENTS:
        return None
    tenant = find_tenant(store, segment)
    if tenant is None:
        raise OAuthError(
            "invalid_request",
            90002,
            f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    return tenant


# -- clients -------------------------------------------------------------------
def find_app(store, client_id: str | None, tenant_label: str):
    app = store.apps.get(client_id or "")
    if app is None:
        raise OAuthError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant_label}'. This can happen if the application has not been installed "
            "by the administrator of the tenant or consented to by any user in the tenant.",
        )
    return app


def authenticate_client(store, form, authorization: str | None, tenant_label: str, secret_optional: bool = False):
    """The App presenting these credentials (client_secret_post or _basic); raises OAuthError.

    `secret_optional` is for public-client redemptions that proved possession with PKCE.
    """
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        try:
            basic_id, _, basic_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", 7000215, "Invalid client secret provided.", 401) from None
        client_id, secret = client_id or unquote_plus(basic_id), unquote_plus(basic_secret)
    if not client_id:
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    app = find_app(store, client_id, tenant_label)
    if form.get("client_assertion"):
        raise OAuthError(
            "invalid_client",
            700027,
            "Client assertion failed signature validation (certificates are not "
            "registered for this app in the emulator).",
            401,
        )
    if not secret:
        if secret_optional:
            return app
        raise OAuthError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            401,
        )
    if not secrets.compare_digest(secret, app.client_secret or ""):
        raise OAuthError(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request "
            f"is the client secret value, not the client secret ID, for a secret added to "
            f"app '{app.client_id}'.",
            401,
        )
    return app


# -- scopes and consent ------------------------------------------------------------
@dataclass
class ScopeRequest:
    resource: str | None  # GRAPH_RESOURCE, an app identifier (our API), or None
    names: list  # permission names, ".default" for all consented
    oidc: list  # openid/profile/email/offline_access, as requested

    @property
    def wants_refresh_token(self) -> bool:
        return "offline_access" in self.oidc

    @property
    def wants_id_token(self) -> bool:
        return "openid" in self.oidc


def parse_scopes(raw: str | None, store) -> ScopeRequest:
    """Split a v2 `scope` parameter into one resource and its permissions; raises OAuthError."""
    resources, names, oidc = set(), [], []
    for scope in (raw or "").split():
        if scope.lower() in OIDC_SCOPES:
            if scope.lower() not in oidc:
                oidc.append(scope.lower())
            continue
        resource, sep, name = scope.rpartition("/")
        if not sep:  # a bare permission name means Graph
            resource = GRAPH_RESOURCE
        if resource.rstrip("/") in (GRAPH_RESOURCE, GRAPH_APP_ID, "https://graph.microsoft.com"):
            resource = GRAPH_RESOURCE
        elif not _is_known_api(store, resource):
            raise OAuthError(
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant. "
                "This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant.",
            )
        resources.add(resource)
        names.append(name)
    if len(resources) > 1:
        raise OAuthError(
            "invalid_scope",
            28000,
            "Provided value for the input parameter scope is not valid because it contains "
            "more than one resource. Scope " + (raw or "") + " is not valid.",
        )
    return ScopeRequest(resources.pop() if resources else None, names, oidc)


def _is_known_api(store, resource: str) -> bool:
    return any(resource == app.client_id or resource in app.identifier_uris for app in store.apps.values())


def api_app_for(store, resource: str):
    for app in store.apps.values():
        if resource == app.client_id or resource in app.identifier_uris:
            return app
    return None


def _consent_error(app) -> OAuthError:
    return OAuthError(
        "invalid_grant",
        65001,
        f"The user or administrator has not consented to use the application with ID "
        f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization request "
        "for this user and resource.",
        suberror="consent_required",
    )


def granted_delegated(app, tid: str, request: ScopeRequest) -> list:
    """Graph permissions `app` may use for a user of `tid`: requested ∩ consented; raises 65001."""
    consent = (app.consent or {}).get(tid)
    consented = [s for s in (consent or {}).get("scopes", []) if s.lower() not in OIDC_SCOPES]
    if not consented:
        raise _consent_error(app)
    if request.resource not in (None, GRAPH_RESOURCE):
        # An API's own scopes (the pane asking for access_as_user): consent to the app in
        # the tenant covers what the app itself exposes.
        return list(request.names)
    by_lower = {s.lower(): s for s in consented}
    wanted = request.names or ["User.Read"]
    if ".default" in wanted:
        return list(consented)
    missing = [n for n in wanted if n.lower() not in by_lower]
    if missing:
        raise _consent_error(app)
    return [by_lower[n.lower()] for n in dict.fromkeys(wanted)]


def granted_roles(app, tid: str) -> list:
    """App roles consented for `app` in `tid`; raises when the app has no footing there."""
    consent = (app.consent or {}).get(tid)
    if consent is None and tid != app.home_tenant:
        raise OAuthError(
            "invalid_client",
            7000229,
            f"The client application {app.client_id} is missing service principal in the "
            f"tenant {tid}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
            401,
        )
    return list((consent or {}).get("roles", []))


def response_scope(resource: str, names: list, oidc: list) -> str:
    """The `scope` Entra echoes: resource-qualified permissions, then the OIDC scopes."""
    return " ".join([f"{resource}/{n}" for n in names] + [s for s in OIDC_SCOPES if s in oidc])


# -- codes and refresh tokens ------------------------------------------------------
@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    oid: str
    scope: str  # the raw scope string, re-checked at redemption
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str
    expires: float
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    oid: str
    scope: str
    public: bool
    expires: float


class Grants:
    """Authorization codes and refresh tokens issued so far (lost on restart, like a dev STS)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._codes: dict[str, AuthCode] = {}
        self._refresh: dict[str, RefreshGrant] = {}

    def clear(self) -> None:
        with self._lock:
            self._codes.clear()
            self._refresh.clear()

    def issue_code(self, **fields) -> str:
        code = "1.A" + secrets.token_urlsafe(64)
        with self._lock:
            self._codes[code] = AuthCode(expires=time.time() + CODE_LIFETIME_S, **fields)
        return code

    def redeem_code(self, code: str) -> AuthCode:
        """The code's grant, marked used; raises OAuthError if unknown, used or expired."""
        with self._lock:
            grant = self._codes.get(code or "")
            if grant is None:
                raise OAuthError(
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid. "
                    "The provided value for the 'code' parameter is not valid.",
                )
            if grant.redeemed:
                raise OAuthError(
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new "
                    "valid code or use an existing refresh token.",
                )
            if time.time() > grant.expires:
                raise OAuthError(
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to "
                    "inactivity. Send a new interactive authorization request for this user "
                    "and resource.",
                )
            grant.redeemed = True
            return grant

    def issue_refresh_token(self, client_id: str, oid: str, scope: str, public: bool) -> str:
        token = "1.A" + secrets.token_urlsafe(96)
        with self._lock:
            self._refresh[token] = RefreshGrant(client_id, oid, scope, public, time.time() + REFRESH_LIFETIME_S)
        return token

    def refresh_grant(self, token: str) -> RefreshGrant:
        with self._lock:
            grant = self._refresh.get(token or "")
        if grant is None:
            raise OAuthError(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid. The refresh token is not valid.",
            )
        if time.time() > grant.expires:
            raise OAuthError("invalid_grant", 700082, "The refresh token has expired due to inactivity.")
        return grant

    def revoke_user(self, oid: str) -> int:
        """Drops every refresh token of one user (Graph's revokeSignInSessions)."""
        with self._lock:
            gone = [token for token, grant in self._refresh.items() if grant.oid == oid]
            for token in gone:
                del self._refresh[token]
        return len(gone)


def refuse_disabled(user) -> None:
    """Entra's answer to any grant for a disabled account (AADSTS50057)."""
    if user is not None and not user.account_enabled:
        raise OAuthError(
            "invalid_grant",
            50057,
            "The user account is disabled. The account has been disabled by an administrator.",
        )


def pkce_matches(verifier: str | None, challenge: str, method: str) -> bool:
    if not verifier:
        return False
    if method.upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        return secrets.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)
    return secrets.compare_digest(verifier, challenge)
