"""Validation of the bearer tokens our API receives (the pane's, and app-only callers').

`TokenValidator` checks a token fully: RS256 signature with the authority's JWKS,
issuer per tenant in v1 and v2 forms, audience, lifetime, and scope or role. There is
no bypass: locally the emulator is the identity provider and mints real tokens.

Who may call: never a personal Microsoft account unless ALLOW_PERSONAL_ACCOUNTS; a
delegated token only when the client application that obtained it (`azp` in v2, `appid`
in v1) is on ALLOWED_CLIENT_IDS (Office's clients and our own pane's), so a token some
other app got for our API with the user's consent is worthless here. App-only tokens
are taken only where a view names the app role they must carry: the role assignment,
an administrator's act in the tenant, is what admits that caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import jwt
import requests

from server.errors import ApiError

from .identity_http import METADATA_TIMEOUT
from .principal import (
    PERSONAL_ACCOUNT_MESSAGE,
    AuthError,
    Principal,
    client_ids,
    identity_unavailable,
    is_guid,
    is_personal_account,
    string_claims,
)

log = logging.getLogger(__name__)

API_SCOPE = "access_as_user"
CLOCK_SKEW_S = 60
JWKS_REFETCH_MIN_INTERVAL_S = 60  # unknown kids trigger at most one JWKS fetch a minute
JWKS_MAX_AGE_S = 24 * 3600  # and keys are refreshed daily, as Microsoft advises
MULTI_TENANT = frozenset({"organizations", "common", "consumers"})
TENANT_PLACEHOLDER = "{tenantid}"


def _audiences(config: Mapping) -> list[str]:
    raw = config["API_AUDIENCE"]
    values = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    return [v.strip() for v in values if v and v.strip()]


class TokenValidator:
    """Validates bearer tokens for our API; `validate(token) -> Principal`."""

    def __init__(self, config: Mapping, session: requests.Session, *, clock: Callable[[], float] = time.time):
        self.authority_host = str(config["AUTHORITY_HOST"]).rstrip("/")
        self.tenant = str(config["AZURE_TENANT_ID"]).strip()
        self.audiences = _audiences(config)
        self.allowed_clients = client_ids(config["ALLOWED_CLIENT_IDS"])
        self.allow_personal_accounts = bool(config["ALLOW_PERSONAL_ACCOUNTS"])
        self.session = session
        self.clock = clock
        self._lock = threading.Lock()
        self._metadata: tuple[str, str, str] | None = None  # v2 issuer, v1 issuer, jwks_uri
        self._keys: dict[str, object] = {}
        self._keys_fetched_at: float | None = None
        self._last_refetch = float("-inf")
        self.jwks_fetches = 0
        # token -> (Principal, exp): a pane sends the same token for up to an hour, and
        # checking it costs ~1 ms of CPU per request (bench/b1_pane_api.py); the rate
        # limiter's key asks for it too. Only fully validated tokens are kept, until `exp`.
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
        if is_guid(self.tenant):
            return self.tenant.lower()
        # A domain name: the tenant's metadata names its id in the issuer.
        path = urlsplit(self._load_metadata()[0]).path.strip("/").split("/")
        return path[0].lower() if path and is_guid(path[0]) else None

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
                token,
                key,
                algorithms=["RS256"],
                audience=self.audiences,
                leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "iss", "aud", "tid"], "verify_iss": False},
            )
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
        if not is_guid(tid):
            raise AuthError("invalid_token", "The access token names no valid tenant.")
        if is_personal_account(tid) and not self.allow_personal_accounts:
            raise AuthError("personal_account_not_allowed", PERSONAL_ACCOUNT_MESSAGE)
        allowed_tid = self._tenant_id()
        if self.single_tenant and tid != allowed_tid:
            raise AuthError("invalid_token", "This API accepts sign-ins from its own organization only.")
        v2_issuer, v1_issuer, _ = self._load_metadata()
        issuers = {v2_issuer.replace(TENANT_PLACEHOLDER, tid), v1_issuer.replace(TENANT_PLACEHOLDER, tid)}
        if claims["iss"] not in issuers:
            raise AuthError("invalid_token", "The access token's issuer is not trusted.")

        scopes = frozenset(str(claims.get("scp") or "").split())
        roles = frozenset(r for r in claims.get("roles") or () if isinstance(r, str))
        app_only = claims.get("idtyp") == "app" or ("scp" not in claims and bool(roles))
        if app_only:
            if required_role is None:
                raise AuthError("insufficient_scope", "App-only tokens are not accepted here.")
            if "scp" in claims:
                raise AuthError("invalid_token", "The access token is both app-only and delegated.")
            if required_role not in roles:
                raise AuthError("insufficient_scope", f"The access token lacks the role {required_role!r}.")
        else:
            if API_SCOPE not in scopes:
                raise AuthError("insufficient_scope", f"The access token lacks the scope {API_SCOPE!r}.")
            self._check_client(claims)
        oid = claims.get("oid")
        if not oid:
            raise AuthError("invalid_token", "The access token has no 'oid' claim.")
        return Principal(
            tid=tid,
            oid=str(oid).lower(),
            upn=claims.get("preferred_username") or claims.get("upn") or claims.get("unique_name"),
            name=claims.get("name"),
            scopes=scopes,
            roles=roles,
            token=token,
            app_only=app_only,
            wids=string_claims(claims.get("wids")),
        ), float(claims["exp"])

    def _check_client(self, claims: Mapping) -> None:
        """The client application that obtained a delegated token must be one we know:
        `azp` in v2 tokens, `appid` in v1."""
        client = claims.get("azp") if str(claims.get("ver")) == "2.0" else claims.get("appid")
        if not isinstance(client, str) or not client.strip():
            raise AuthError("invalid_token", "The access token names no client application (azp or appid).")
        if client.strip().lower() not in self.allowed_clients:
            log.warning("token refused: client application %s is not on ALLOWED_CLIENT_IDS", client)
            raise AuthError(
                "client_not_allowed",
                f"This API accepts tokens that Outlook or CRM Sync's own pane obtained, not ones of the "
                f"application {client}. An administrator can add it to ALLOWED_CLIENT_IDS.",
            )
