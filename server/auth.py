"""Who is calling, and Graph tokens on their behalf.

`TokenValidator` checks the pane's bearer token fully (RS256 signature with the
authority's JWKS, issuer per tenant in v1 and v2 forms, audience, lifetime, scope);
`GraphTokens` exchanges it on-behalf-of for a Graph token (msal), or gets an app-only
token for background work. When Graph refuses a cached token (the transport's
`refused_token()`), it is dropped and a fresh one fetched. There is no bypass: locally
the emulator is the identity provider and mints real tokens.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Mapping
from urllib.parse import urlsplit

import jwt
import msal
import requests
from flask import current_app, g, request

from server.errors import ApiError
from server.graph.transport import RefusedToken, refused_token
from server.tls import http_session

log = logging.getLogger(__name__)

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
API_SCOPE = "access_as_user"
CLOCK_SKEW_S = 60
JWKS_REFETCH_MIN_INTERVAL_S = 60     # unknown kids trigger at most one JWKS fetch a minute
JWKS_MAX_AGE_S = 24 * 3600           # and keys are refreshed daily, as Microsoft advises
TOKEN_EXPIRY_MARGIN_S = 300          # never hand out a Graph token about to expire
MULTI_TENANT = frozenset({"organizations", "common", "consumers"})
TENANT_PLACEHOLDER = "{tenantid}"
METADATA_TIMEOUT = (5.0, 10.0)

CONSENT_MESSAGE = ("CRM Sync has not been allowed to access your mailbox yet. "
                   "Ask your Microsoft 365 administrator to grant consent to the app, then try again.")
UNAVAILABLE_MESSAGE = "Microsoft's sign-in service could not be reached. Try again in a moment."


class AuthError(ApiError):
    """The bearer token was refused: 401 with the one error shape."""

    def __init__(self, code: str, message: str):
        super().__init__(401, code, message)


def identity_unavailable() -> ApiError:
    return ApiError(503, "identity_unavailable", UNAVAILABLE_MESSAGE, retry_after=5)


@dataclass(frozen=True)
class Principal:
    """The caller of one request, from a validated token."""
    tid: str
    oid: str
    upn: str | None
    name: str | None
    scopes: frozenset = frozenset()
    roles: frozenset = frozenset()
    token: str = field(default="", repr=False)   # the assertion for on-behalf-of
    app_only: bool = False


def _audiences(config: Mapping) -> list[str]:
    raw = config["API_AUDIENCE"]
    values = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    return [v.strip() for v in values if v and v.strip()]


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


class TokenValidator:
    """Validates bearer tokens for our API; `validate(token) -> Principal`."""

    def __init__(self, config: Mapping, session: requests.Session, *,
                 clock: Callable[[], float] = time.time):
        self.authority_host = str(config["AUTHORITY_HOST"]).rstrip("/")
        self.tenant = str(config["AZURE_TENANT_ID"]).strip()
        self.audiences = _audiences(config)
        self.session = session
        self.clock = clock
        self._lock = threading.Lock()
        self._metadata: tuple[str, str, str] | None = None   # v2 issuer, v1 issuer, jwks_uri
        self._keys: dict[str, object] = {}
        self._keys_fetched_at: float | None = None
        self._last_refetch = float("-inf")
        self.jwks_fetches = 0
        # token -> (Principal, exp): a pane sends the same token for up to an hour, and
        # checking it costs ~1 ms of CPU per request (bench B1); the rate limiter's key
        # asks for it too. Only fully validated tokens are kept, until their `exp`.
        self._validated: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self.max_cached = 4096

    @property
    def single_tenant(self) -> bool:
        return self.tenant.lower() not in MULTI_TENANT

    # -- metadata and keys ----------------------------------------------------------

    def _get_json(self, url: str) -> dict:
        try:
            response = self.session.get(url, timeout=METADATA_TIMEOUT)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("identity metadata %s: %s", url, exc)
            raise identity_unavailable() from exc

    def _load_metadata(self) -> tuple[str, str, str]:
        if self._metadata is None:
            v2 = self._get_json(f"{self.authority_host}/{self.tenant}/v2.0/.well-known/openid-configuration")
            v1 = self._get_json(f"{self.authority_host}/{self.tenant}/.well-known/openid-configuration")
            if not v2.get("issuer") or not v2.get("jwks_uri") or not v1.get("issuer"):
                raise identity_unavailable()
            self._metadata = (v2["issuer"], v1["issuer"], v2["jwks_uri"])
        return self._metadata

    def _fetch_keys(self) -> None:
        jwks = self._get_json(self._load_metadata()[2])
        keys = {}
        for jwk in jwks.get("keys") or ():
            if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig" or not jwk.get("kid"):
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
            except jwt.PyJWTError:
                log.warning("skipping unusable JWKS key %s", jwk.get("kid"))
        self._keys = keys
        self._keys_fetched_at = self.clock()
        self.jwks_fetches += 1

    def _key(self, kid: str):
        with self._lock:
            now = self.clock()
            if self._keys_fetched_at is None:
                self._fetch_keys()
            elif now - self._keys_fetched_at > JWKS_MAX_AGE_S:
                try:
                    self._fetch_keys()
                except ApiError:
                    # The daily refresh failed: the keys we have still verify; try
                    # again in a minute rather than refusing every request meanwhile.
                    self._keys_fetched_at = now - JWKS_MAX_AGE_S + JWKS_REFETCH_MIN_INTERVAL_S
            elif kid not in self._keys and now - self._last_refetch >= JWKS_REFETCH_MIN_INTERVAL_S:
                # Keys rotate: an unknown kid may be a new key. Rate-limited, so tokens
                # with made-up kids cannot make us hammer the authority.
                self._last_refetch = now
                self._fetch_keys()
            return self._keys.get(kid)

    def _tenant_id(self) -> str | None:
        """The one tenant accepted when AZURE_TENANT_ID names a tenant."""
        if not self.single_tenant:
            return None
        if _is_guid(self.tenant):
            return self.tenant.lower()
        # A domain name: the tenant's metadata names its id in the issuer.
        path = urlsplit(self._load_metadata()[0]).path.strip("/").split("/")
        return path[0].lower() if path and _is_guid(path[0]) else None

    # -- validation -------------------------------------------------------------------

    def validate(self, token: str, required_role: str | None = None) -> Principal:
        """The Principal behind a bearer token. Delegated tokens need `scp`
        access_as_user; app-only tokens are accepted only when `required_role` is
        given and in their `roles`.

        Raises AuthError (401) for any invalid token, ApiError 503
        "identity_unavailable" when the authority's metadata cannot be fetched.
        """
        if not token:
            raise AuthError("missing_token", "Sign-in is required: send Authorization: Bearer <token>.")
        cache_key = f"{required_role or ''} {token}"
        with self._lock:
            cached = self._validated.get(cache_key)
        if cached is not None and cached[1] > self.clock():
            return cached[0]
        principal, expires = self._validate(token, required_role)
        with self._lock:
            # Nor past the keys' daily refresh: a revoked key stops verifying then.
            expires = min(expires, (self._keys_fetched_at or 0.0) + JWKS_MAX_AGE_S)
            self._validated[cache_key] = (principal, expires)
            while len(self._validated) > self.max_cached:
                self._validated.popitem(last=False)
        return principal

    def _validate(self, token: str, required_role: str | None) -> tuple[Principal, float]:
        if not self.audiences:
            raise ApiError(500, "auth_not_configured", "API_AUDIENCE is not configured on the server.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("invalid_token", "The access token is malformed.") from None
        alg = header.get("alg")
        if alg != "RS256":
            raise AuthError("invalid_token", f"Tokens signed with {alg!r} are not accepted.")
        kid = header.get("kid")
        key = self._key(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise AuthError("invalid_token", "The access token was signed by an unknown key.")
        try:
            claims = jwt.decode(
                token, key, algorithms=["RS256"], audience=self.audiences, leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "iss", "aud", "tid"], "verify_iss": False})
        except jwt.ExpiredSignatureError:
            raise AuthError("token_expired", "The access token has expired. Sign in again.") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("invalid_token", "The access token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise AuthError("invalid_token", "The access token was issued for another application.") from None
        except jwt.InvalidSignatureError:
            raise AuthError("invalid_token", "The access token's signature is invalid.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError("invalid_token", f"The access token has no {exc.claim!r} claim.") from None
        except jwt.PyJWTError:
            raise AuthError("invalid_token", "The access token is invalid.") from None

        tid = str(claims["tid"]).lower()
        if not _is_guid(tid):
            raise AuthError("invalid_token", "The access token names no valid tenant.")
        allowed_tid = self._tenant_id()
        if self.single_tenant and tid != allowed_tid:
            raise AuthError("invalid_token", "This API accepts sign-ins from its own organization only.")
        v2_issuer, v1_issuer, _ = self._load_metadata()
        issuers = {v2_issuer.replace(TENANT_PLACEHOLDER, tid), v1_issuer.replace(TENANT_PLACEHOLDER, tid)}
        if claims["iss"] not in issuers:
            raise AuthError("invalid_token", "The access token's issuer is not trusted.")

        scopes = frozenset(str(claims.get("scp") or "").split())
        roles = frozenset(r for r in claims.get("roles") or () if isinstance(r, str))
        app_only = "scp" not in claims and (claims.get("idtyp") == "app" or bool(roles))
        if app_only:
            if required_role is None:
                raise AuthError("insufficient_scope", "App-only tokens are not accepted here.")
            if required_role not in roles:
                raise AuthError("insufficient_scope", f"The access token lacks the role {required_role!r}.")
        elif API_SCOPE not in scopes:
            raise AuthError("insufficient_scope", f"The access token lacks the scope {API_SCOPE!r}.")
        oid = claims.get("oid")
        if not oid:
            raise AuthError("invalid_token", "The access token has no 'oid' claim.")
        return Principal(
            tid=tid, oid=str(oid).lower(),
            upn=claims.get("preferred_username") or claims.get("upn") or claims.get("unique_name"),
            name=claims.get("name"), scopes=scopes, roles=roles, token=token,
            app_only=app_only), float(claims["exp"])


class _TimeoutHttpClient:
    """What msal calls (get/post/close) on the trusted session, with timeouts: msal
    applies its `timeout=` only to sessions it creates itself."""

    def __init__(self, session: requests.Session, timeout):
        self.session = session
        self.timeout = timeout

    def get(self, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return self.session.get(url, **kwargs)

    def post(self, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return self.session.post(url, **kwargs)

    def close(self):
        pass  # the session is shared and outlives any one msal app


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
        return ApiError(401, "interaction_required",
                        f"Your organization requires you to sign in again ({aadsts}).", **extra)
    if error == "invalid_grant":
        return AuthError("token_expired", f"Your sign-in is no longer valid ({aadsts}). Sign in again.")
    if error in ("invalid_client", "unauthorized_client", "invalid_scope", "invalid_request"):
        log.error("token request refused: %s %s", error, description)
        return ApiError(500, "identity_misconfigured",
                        f"The identity provider refused this server's app registration ({aadsts}).")
    if error in ("temporarily_unavailable", "server_error") or not error:
        return identity_unavailable()
    return ApiError(502, "identity_error", f"The identity provider refused the token request ({aadsts}).")


class GraphTokens:
    """Graph access tokens: on-behalf-of a user (cached per user and assertion), and
    app-only per tenant (cached by msal). One msal app per tenant authority."""

    def __init__(self, config: Mapping, session: requests.Session, *,
                 clock: Callable[[], float] = time.time, max_cached: int = 10_000):
        self.authority_host = str(config["AUTHORITY_HOST"]).rstrip("/")
        self.client_id = str(config["AZURE_CLIENT_ID"])
        self.client_secret = str(config["AZURE_CLIENT_SECRET"])
        self.http_client = _TimeoutHttpClient(session, METADATA_TIMEOUT)
        self.clock = clock
        self.max_cached = max_cached
        self._lock = threading.Lock()
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._obo: dict[tuple, tuple[str, float]] = {}
        host = urlsplit(self.authority_host).hostname or ""
        self._microsoft_host = host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS

    def _app(self, tid: str) -> msal.ConfidentialClientApplication:
        if not self.client_id or not self.client_secret:
            raise ApiError(500, "auth_not_configured",
                           "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not configured on the server.")
        with self._lock:
            app = self._apps.get(tid)
        if app is not None:
            return app
        try:
            # Fetches the authority's metadata now; msal only accepts https authorities.
            app = msal.ConfidentialClientApplication(
                self.client_id, client_credential=self.client_secret,
                authority=f"{self.authority_host}/{tid}",
                instance_discovery=None if self._microsoft_host else False,
                http_client=self.http_client, token_cache=msal.TokenCache())
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
        if cached and cached[1] - TOKEN_EXPIRY_MARGIN_S > now and (
                refused is None or cached[0] != refused.token):
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
        if not _is_guid(tid):
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
    if refused is not None and refused.status == 403 and \
            not _permissions(fresh) - _permissions(refused.token):
        return refused.token
    return fresh


# -- Flask glue ---------------------------------------------------------------------

@dataclass
class AuthState:
    session: requests.Session
    validator: TokenValidator
    graph_tokens: GraphTokens


_init_lock = threading.Lock()


def init_app(app) -> AuthState:
    """Create the app's trusted session, validator and token source (idempotent)."""
    with _init_lock:
        state = app.extensions.get("crm_auth")
        if state is None:
            session = http_session(app.config)
            state = AuthState(session, TokenValidator(app.config, session),
                              GraphTokens(app.config, session))
            app.extensions["crm_auth"] = state
        return state


def auth_state() -> AuthState:
    return current_app.extensions.get("crm_auth") or init_app(current_app._get_current_object())


def bearer_token() -> str:
    """The token of the request's `Authorization: Bearer` header ("" when absent)."""
    scheme, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def require_auth(view=None, *, role: str | None = None):
    """Decorator: validate the bearer token and set `g.principal`; `role` also admits
    app-only tokens carrying that app role. Use as `@require_auth` or
    `@require_auth(role="...")`."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            g.principal = auth_state().validator.validate(bearer_token(), required_role=role)
            return fn(*args, **kwargs)
        return wrapper
    return decorate(view) if view is not None else decorate


def current_principal() -> Principal:
    """The request's Principal; raises AuthError when the view did not authenticate."""
    principal = g.get("principal")
    if principal is None:
        raise AuthError("missing_token", "Sign-in is required.")
    return principal


def graph_token_for(principal: Principal) -> str:
    """A delegated Graph token for `principal` (OBO, cached)."""
    return auth_state().graph_tokens.delegated(principal)


def app_graph_token(tid: str) -> str:
    """An app-only Graph token for tenant `tid` (client credentials, cached)."""
    return auth_state().graph_tokens.app_only(tid)


def trusted_session() -> requests.Session:
    """The app's session trusting CA_BUNDLE (for GraphClient)."""
    return auth_state().session
