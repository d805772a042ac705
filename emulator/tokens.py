"""Token signing, minting and verification, shaped like Entra ID's tokens.

One RSA key (state-dir/signing-key.pem, created once) signs every token; its
public half is the JWKS. Three kinds of token:
- Graph tokens (`ver` 1.0, `aud` https://graph.microsoft.com, v1 issuer), like
  the ones Graph receives: delegated (`scp`) or app-only (`roles`);
- API tokens for our backend (what Office hands the task pane, and the OBO
  assertion): `aud` = the app's identifier URI (v1) or client id (v2);
- id tokens (v2) for the authorization-code flow.

Graph's blueprint authenticates with `verify_graph_token(state, header)`.
"""

import base64
import datetime
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_AUDIENCES = (GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID)
OFFICE_CLIENT_ID = "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e"
# The directory role every member user holds ("User"); Entra lists it in `wids` too.
USER_ROLE_TEMPLATE_ID = "b79fbf4d-3ef9-4689-8143-76b194e85509"
DEFAULT_LIFETIME_S = 3600
CLOCK_SKEW_S = 300  # what Microsoft's validators allow


class TokenError(Exception):
    """A token was refused; `code` is Graph's error code, `message` its text."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Caller:
    """Who a verified Graph token speaks for."""

    tid: str
    oid: str
    upn: str | None
    scopes: set = field(default_factory=set)
    roles: set = field(default_factory=set)
    app_only: bool = False
    client_id: str | None = None
    claims: dict = field(default_factory=dict)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_uint(n: int) -> str:
    return _b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class SigningKey:
    """The RSA key that signs tokens, with its self-signed certificate for `x5c`."""

    def __init__(self, private_key, cert: x509.Certificate):
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.cert = cert
        cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.x5c = base64.b64encode(cert_der).decode()
        # Like Entra, kid is the certificate's SHA-1 thumbprint (and so equals x5t).
        self.kid = _b64url(hashlib.sha1(cert_der).digest())

    @classmethod
    def load_or_create(cls, state_dir: str) -> "SigningKey":
        """Reuse state_dir/signing-key.pem (+ signing-cert.pem) so tokens survive restarts."""
        key_path = os.path.join(state_dir, "signing-key.pem")
        cert_path = os.path.join(state_dir, "signing-cert.pem")
        if os.path.exists(key_path):
            with open(key_path, "rb") as f:
                key = serialization.load_pem_private_key(f.read(), password=None)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(
                key_path,
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )
        cert = None
        if os.path.exists(cert_path):
            with open(cert_path, "rb") as f:
                cert = x509.load_pem_x509_certificate(f.read())
            if cert.public_key().public_numbers() != key.public_key().public_numbers():
                cert = None
        if cert is None:
            cert = _self_signed(key, "Emulator token signing")
            with open(cert_path, "wb") as f:
                f.write(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert)

    def jwk(self, issuer: str | None = None) -> dict:
        numbers = self.public_key.public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "x5c": [self.x5c],
        }
        if issuer:
            key["issuer"] = issuer
        return key

    def sign(self, claims: dict) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid, "typ": "JWT"}
        )


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _self_signed(key, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


# -- issuers ---------------------------------------------------------------
def issuer_v2(state, tid: str) -> str:
    return f"{state.base_url}/{tid}/v2.0"


def issuer_v1(state, tid: str) -> str:
    # Stands for https://sts.windows.net/{tid}/ (kept on our host so it is ours to trust).
    return f"{state.base_url}/{tid}/"


# -- the user's roles --------------------------------------------------------------
def user_wids(user) -> list[str]:
    """The template ids of the user's directory roles, as in `wids`."""
    return list(dict.fromkeys([*user.directory_roles, USER_ROLE_TEMPLATE_ID]))


def role_claims(user, app) -> dict:
    """`roles` (the app roles of `app` assigned to `user`) and `wids` (the user's
    directory roles, when the app's groupMembershipClaims asks for them), for the
    tokens issued for `app`; each only when it has a value, as Entra does."""
    claims: dict = {}
    defined = app.role_values() if app is not None else set()
    roles = sorted(
        {a.get("value") for a in user.app_role_assignments if a.get("client_id") == getattr(app, "client_id", None)}
        & defined
    )
    if roles:
        claims["roles"] = roles
    if app is not None and (app.group_membership_claims or "") in ("DirectoryRole", "All"):
        claims["wids"] = user_wids(user)
    return claims


# -- minting ---------------------------------------------------------------
def _timed(claims: dict, lifetime_s: int, now: float | None = None) -> dict:
    now = int(now if now is not None else time.time())
    # Entra backdates nbf/iat by 5 minutes to absorb clock skew.
    return dict(claims, iat=now - 300, nbf=now - 300, exp=now + int(lifetime_s), uti=_b64url(uuid.uuid4().bytes)[:22])


def mint(state, claims: dict, lifetime_s: int = DEFAULT_LIFETIME_S, now: float | None = None) -> str:
    """Sign `claims` plus iat/nbf/exp; `now` lets tests mint already-expired tokens."""
    return state.keys.sign(_timed(claims, lifetime_s, now))


def graph_user_token(state, user, app, scopes, lifetime_s: int = DEFAULT_LIFETIME_S) -> str:
    """A delegated Graph token for `user`, issued to `app`, with these scope names."""
    return mint(
        state,
        {
            "aud": GRAPH_RESOURCE,
            "iss": issuer_v1(state, user.tid),
            "ver": "1.0",
            "appid": app.client_id,
            "app_displayname": app.display_name,
            "appidacr": "1",
            "idtyp": "user",
            "amr": ["pwd"],
            "name": user.display_name,
            "oid": user.oid,
            "sub": pairwise_sub(user.oid, GRAPH_APP_ID),
            "tid": user.tid,
            "upn": user.upn,
            "unique_name": user.upn,
            "preferred_username": user.upn,
            "scp": " ".join(scopes),
            # Graph's own registration asks for directory roles.
            "wids": user_wids(user),
        },
        lifetime_s,
    )


def service_principal_oid(client_id: str, tid: str) -> str:
    """The app's (stable) service principal object id in a tenant."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{tid}:{client_id}"))


def graph_app_token(state, tid: str, app, roles, lifetime_s: int = DEFAULT_LIFETIME_S) -> str:
    """An app-only Graph token for `app` in tenant `tid` with these app roles."""
    sp = service_principal_oid(app.client_id, tid)
    claims = {
        "aud": GRAPH_RESOURCE,
        "iss": issuer_v1(state, tid),
        "ver": "1.0",
        "appid": app.client_id,
        "app_displayname": app.display_name,
        "appidacr": "1",
        "idtyp": "app",
        "oid": sp,
        "sub": sp,
        "tid": tid,
    }
    if roles:
        claims["roles"] = sorted(roles)
    return mint(state, claims, lifetime_s)


def api_token(
    state,
    user,
    app,
    ver: int = 2,
    scope: str = "access_as_user",
    lifetime_s: int = DEFAULT_LIFETIME_S,
    now: float | None = None,
    client_id: str = OFFICE_CLIENT_ID,
) -> str:
    """A token for our API (`aud` = our app), issued to the client that asked for it
    (`azp` in v2, `appid` in v1): Office for the token Office SSO hands the task pane,
    our own app's client id for the pane's nested app authentication. It carries the
    user's app roles of our app and directory roles (role_claims)."""
    claims = {
        "name": user.display_name,
        "oid": user.oid,
        "tid": user.tid,
        "scp": scope,
        "sub": pairwise_sub(user.oid, app.client_id),
        **role_claims(user, app),
    }
    if int(ver) == 1:
        claims.update(
            aud=(app.identifier_uris or [app.client_id])[0],
            iss=issuer_v1(state, user.tid),
            ver="1.0",
            appid=client_id,
            appidacr="0",
            upn=user.upn,
            unique_name=user.upn,
        )
    else:
        claims.update(
            aud=app.client_id,
            iss=issuer_v2(state, user.tid),
            ver="2.0",
            azp=client_id,
            azpacr="0",
            preferred_username=user.upn,
        )
    return mint(state, claims, lifetime_s, now)


def id_token(
    state, user, client_id: str, nonce: str | None = None, lifetime_s: int = DEFAULT_LIFETIME_S, app=None
) -> str:
    """The id token of a sign-in to `client_id` (`app`, for the user's roles of it)."""
    claims = {
        "aud": client_id,
        "iss": issuer_v2(state, user.tid),
        "ver": "2.0",
        "name": user.display_name,
        "oid": user.oid,
        "tid": user.tid,
        "preferred_username": user.upn,
        "sub": pairwise_sub(user.oid, client_id),
        **role_claims(user, app),
    }
    if user.mail:
        claims["email"] = user.mail
    if nonce:
        claims["nonce"] = nonce
    return mint(state, claims, lifetime_s)


def client_info(user) -> str:
    """What Entra returns as `client_info` (msal builds the account id from it)."""
    return _b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode())


def pairwise_sub(oid: str, client_id: str) -> str:
    # `sub` differs per app for the same user, as in Entra.
    return _b64url(hashlib.sha256(f"{oid}:{client_id}".encode()).digest())[:43]


# -- verification ------------------------------------------------------------
def decode(state, token: str, audiences) -> dict:
    """Verify signature, lifetime, audience and issuer; raises TokenError.

    The issuer must be ours, for the tenant in the token's own `tid`.
    """
    if not token:
        raise TokenError("InvalidAuthenticationToken", "Access token is empty.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError(
            "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.)."
        ) from None
    if header.get("kid") != state.keys.kid:
        raise TokenError("InvalidAuthenticationToken", "Access token validation failure. Signing key not found.")
    try:
        claims = jwt.decode(
            token,
            state.keys.public_key,
            algorithms=["RS256"],
            audience=list(audiences),
            leeway=CLOCK_SKEW_S,
            options={"require": ["exp", "nbf", "iat", "aud", "iss", "tid"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("InvalidAuthenticationToken", "Access token has expired or is not yet valid.") from None
    except jwt.ImmatureSignatureError:
        raise TokenError("InvalidAuthenticationToken", "Access token has expired or is not yet valid.") from None
    except jwt.InvalidAudienceError:
        raise TokenError("InvalidAuthenticationToken", "Access token validation failure. Invalid audience.") from None
    except jwt.InvalidSignatureError:
        raise TokenError("InvalidAuthenticationToken", "Access token validation failure. Invalid signature.") from None
    except jwt.PyJWTError as e:
        raise TokenError("InvalidAuthenticationToken", f"Access token validation failure. {e}") from None
    tid = claims["tid"]
    if claims["iss"] not in (issuer_v1(state, tid), issuer_v2(state, tid)):
        raise TokenError("InvalidAuthenticationToken", "Access token validation failure. Invalid issuer.")
    return claims


def verify_graph_token(state, authorization_header: str | None) -> Caller:
    """The Caller behind `Authorization: Bearer <Graph token>`; raises TokenError."""
    scheme, _, token = (authorization_header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("InvalidAuthenticationToken", "Access token is empty.")
    claims = decode(state, token.strip(), GRAPH_AUDIENCES)
    faults = getattr(state, "faults", None)
    if faults is not None and faults.check_token(token.strip()) is not None:
        # A fault rule names this very token: refused as expired (or revoked) would be.
        raise TokenError("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    app_only = claims.get("idtyp") == "app" or ("scp" not in claims and "roles" in claims)
    return Caller(
        tid=claims["tid"],
        oid=claims.get("oid", ""),
        upn=None if app_only else (claims.get("upn") or claims.get("preferred_username")),
        scopes=set((claims.get("scp") or "").split()),
        roles=set(claims.get("roles") or ()),
        app_only=app_only,
        client_id=claims.get("appid") or claims.get("azp"),
        claims=claims,
    )


def unverified_claims(authorization_header: str | None) -> dict:
    """The claims of a bearer token without checking it (only to find the mailbox of /me)."""
    _, _, token = (authorization_header or "").partition(" ")
    try:
        return jwt.decode(token.strip(), options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


def app_only_bearer(authorization_header: str | None) -> bool:
    """Whether a request's bearer token is an app-only one (roles, no delegated scopes),
    unchecked: for the request log, which tells background work from a user's own."""
    claims = unverified_claims(authorization_header)
    return bool(claims) and "scp" not in claims and bool(claims.get("roles"))
