"""Graph access tokens from msal: on-behalf-of the calling user, or app-only per tenant.

When Graph refuses a cached token (the transport's `refused_token()`), it is dropped
and a fresh one fetched.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import jwt
import msal
import requests

from server.errors import ApiError
from server.graph.transport import RefusedToken, refused_token

from .identity_http import METADATA_TIMEOUT, TimeoutHttpClient
from .principal import AuthError, Principal, identity_unavailable, is_guid

log = logging.getLogger(__name__)

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
TOKEN_EXPIRY_MARGIN_S = 300  # never hand out a Graph token about to expire
CONSENT_MESSAGE = (
    "CRM Sync has not been allowed to access your mailbox yet. "
    "Ask your Microsoft 365 administrator to grant consent to the app, then try again."
)


def _msal_error(result: dict) -> ApiError:
    """The ApiError for a failed msal token request."""
    error = str(result.get("error") or "")
    description = str(result.get("error_description") or "")
    codes = {int(c) for c in result.get("error_codes") or () if str(c).isdigit()}
    aadsts = f"AADSTS{min(codes)}" if codes else error
    if 65001 in codes or "AADSTS65001" in description or error == "consent_required":
        return ApiError(403, "consent_required", CONSENT_MESSAGE)
    if error == "interaction_required" or result.get("claims"):
        # Conditional access (e.g. MFA): the pane must sign in again with these claims.
        extra = {"claims": result["claims"]} if result.get("claims") else {}
        return ApiError(
            401, "interaction_required", f"Your organization requires you to sign in again ({aadsts}).", **extra
        )
    if error == "invalid_grant":
        return AuthError("token_expired", f"Your sign-in is no longer valid ({aadsts}). Sign in again.")
    if error in ("invalid_client", "unauthorized_client", "invalid_scope", "invalid_request"):
        log.error("token request refused: %s %s", error, description)
        return ApiError(
            500, "identity_misconfigured", f"The identity provider refused this server's app registration ({aadsts})."
        )
    if error in ("temporarily_unavailable", "server_error") or not error:
        return identity_unavailable()
    return ApiError(502, "identity_error", f"The identity provider refused the token request ({aadsts}).")


class GraphTokens:
    """Graph access tokens: on-behalf-of a user (cached per user and assertion), and
    app-only per tenant (cached by msal). One msal app per tenant authority."""

    def __init__(
        self,
        config: Mapping,
        session: requests.Session,
        *,
        clock: Callable[[], float] = time.time,
        max_cached: int = 10_000,
    ):
        self.authority_host = str(config["AUTHORITY_HOST"]).rstrip("/")
        self.client_id = str(config["AZURE_CLIENT_ID"])
        self.client_secret = str(config["AZURE_CLIENT_SECRET"])
        self.http_client = TimeoutHttpClient(session, METADATA_TIMEOUT)
        self.clock = clock
        self.max_cached = max_cached
        self._lock = threading.Lock()
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._obo: dict[tuple, tuple[str, float]] = {}
        host = urlsplit(self.authority_host).hostname or ""
        self._microsoft_host = host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS

    def _app(self, tid: str) -> msal.ConfidentialClientApplication:
        if not self.client_id or not self.client_secret:
            raise ApiError(
                500, "auth_not_configured", "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not configured on the server."
            )
        with self._lock:
            app = self._apps.get(tid)
        if app is not None:
            return app
        try:
            # Fetches the authority's metadata now; msal only accepts https authorities.
            app = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self.client_secret,
                authority=f"{self.authority_host}/{tid}",
                instance_discovery=None if self._microsoft_host else False,
                http_client=self.http_client,
                token_cache=msal.TokenCache(),
            )
        except (requests.RequestException, ValueError, RuntimeError) as exc:
            log.warning("msal authority %s/%s: %s", self.authority_host, tid, exc)
            raise identity_unavailable() from exc
        with self._lock:
            return self._apps.setdefault(tid, app)

    def _acquire(self, call: Callable[[], dict]) -> dict:
        try:
            result = call() or {}
        except (requests.RequestException, ValueError) as exc:
            log.warning("token request failed: %s", exc)
            raise identity_unavailable() from exc
        if "access_token" not in result:
            raise _msal_error(result)
        return result

    def delegated(self, principal: Principal) -> str:
        """A Graph token for the principal (on-behalf-of its token).

        msal 1.39 sends every acquire_token_on_behalf_of to the authority (it has no
        cache lookup keyed by the assertion), so results are cached here by
        (tid, oid, assertion hash) until shortly before they expire. A token Graph
        refused (`refused_token()`) is not handed out again: a fresh one is fetched.
        Raises ApiError: 403 consent_required, 401 token_expired, 503 identity_unavailable.
        """
        if principal.app_only:
            raise ApiError(403, "forbidden", "An app-only caller has no user to act for.")
        key = (principal.tid, principal.oid, hashlib.sha256(principal.token.encode()).hexdigest())
        refused = refused_token()
        now = self.clock()
        with self._lock:
            cached = self._obo.get(key)
        if cached and cached[1] - TOKEN_EXPIRY_MARGIN_S > now and (refused is None or cached[0] != refused.token):
            return cached[0]
        app = self._app(principal.tid)
        result = self._acquire(lambda: app.acquire_token_on_behalf_of(principal.token, GRAPH_SCOPES))
        expires_at = now + float(result.get("expires_in") or 0)
        with self._lock:
            if len(self._obo) >= self.max_cached:
                self._obo = {k: v for k, v in self._obo.items() if v[1] - TOKEN_EXPIRY_MARGIN_S > now}
                while len(self._obo) >= self.max_cached:
                    self._obo.pop(next(iter(self._obo)))
            self._obo[key] = (result["access_token"], expires_at)
        return _replacement(result["access_token"], refused)

    def app_only(self, tid: str) -> str:
        """An app-only Graph token for tenant `tid` (client credentials; msal serves
        it from its cache until it expires, unless Graph refused that one: then it is
        removed from msal's cache and a fresh one fetched). Raises ApiError like
        `delegated`."""
        if not is_guid(tid):
            raise ValueError(f"app-only tokens need a tenant id, not {tid!r}")
        app = self._app(tid.lower())
        token = self._acquire(lambda: app.acquire_token_for_client(GRAPH_SCOPES))["access_token"]
        refused = refused_token()
        if refused is not None and token == refused.token:
            _forget(app.token_cache, token)
            token = self._acquire(lambda: app.acquire_token_for_client(GRAPH_SCOPES))["access_token"]
        return _replacement(token, refused)


def _forget(cache: msal.TokenCache, token: str) -> None:
    """Remove an access token from msal's cache, so the next acquire asks the authority."""
    for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, query={"secret": token})):
        cache.remove_at(entry)


def _permissions(token: str) -> set[str]:
    """The delegated scopes and app roles a Graph token carries (read, not verified:
    Graph verifies them; this only compares two tokens we were issued). Empty for a
    token that is not a JWT: then a 403 is never repeated."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return set()
    roles = {r.lower() for r in claims.get("roles") or () if isinstance(r, str)}
    return roles | {s.lower() for s in str(claims.get("scp") or "").split()}


def _replacement(fresh: str, refused: RefusedToken | None) -> str:
    """What to answer a transport that asked for a replacement: the fresh token, except
    after a 403 when it carries no permission the refused one lacked (consent has not
    changed): then the refused token, so the call fails at once instead of twice."""
    if refused is not None and refused.status == 403 and not _permissions(fresh) - _permissions(refused.token):
        return refused.token
    return fresh
