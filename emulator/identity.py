"""Entra ID subset: OpenID metadata, JWKS and the v2 token endpoint.

Grants: on-behalf-of (jwt-bearer), client_credentials, authorization_code (codes
come from the sign-in page in `signin.py`) and refresh_token. Shapes follow
Microsoft's identity-platform docs; errors use Entra's AADSTS codes.
"""

import time
from urllib.parse import urlparse

import jwt
from flask import Blueprint, current_app, jsonify, request

from emulator import tokens
from emulator.oauth import (
    OAuthError,
    api_app_for,
    authenticate_client,
    granted_delegated,
    granted_roles,
    parse_scopes,
    pkce_matches,
    refuse_disabled,
    response_scope,
    tenant_or_error,
)
from emulator.tokens import DEFAULT_LIFETIME_S, GRAPH_RESOURCE

bp = Blueprint("identity", __name__)

GRANT_OBO = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TENANT_PLACEHOLDER = "{tenantid}"


def _state():
    return current_app.extensions["emulator"]


@bp.errorhandler(OAuthError)
def _oauth_error(e: OAuthError):
    return e.response()


# -- discovery -------------------------------------------------------------------
def _resolve_for_metadata(segment: str):
    """(path segment for endpoints, tid or placeholder for issuers); raises OAuthError."""
    tenant = tenant_or_error(_state().store, segment)
    if tenant is None:
        return segment.lower(), TENANT_PLACEHOLDER
    return tenant.tid, tenant.tid


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration_v2(tenant):
    """OpenID Provider metadata, v2 endpoint (what msal reads)."""
    seg, tid = _resolve_for_metadata(tenant)
    base = _state().base_url
    return jsonify(
        {
            "token_endpoint": f"{base}/{seg}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{seg}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{seg}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{seg}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{seg}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{base}/{seg}/kerberos",
            "tenant_region_scope": None if tid == TENANT_PLACEHOLDER else "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


@bp.get("/<tenant>/.well-known/openid-configuration")
def openid_configuration_v1(tenant):
    """OpenID Provider metadata, v1 form (issuer stands for https://sts.windows.net/{tid}/)."""
    seg, tid = _resolve_for_metadata(tenant)
    base = _state().base_url
    return jsonify(
        {
            "token_endpoint": f"{base}/{seg}/oauth2/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/common/discovery/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "scopes_supported": ["openid"],
            "issuer": f"{base}/{tid}/",
            "microsoft_multi_refresh_token": True,
            "authorization_endpoint": f"{base}/{seg}/oauth2/authorize",
            "device_authorization_endpoint": f"{base}/{seg}/oauth2/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{seg}/oauth2/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "amr",
                "nonce",
                "email",
                "given_name",
                "family_name",
                "nickname",
            ],
            "check_session_iframe": f"{base}/{seg}/oauth2/checksession",
            "userinfo_endpoint": f"{base}/{seg}/openid/userinfo",
            "kerberos_endpoint": f"{base}/{seg}/kerberos",
            "tenant_region_scope": None if tid == TENANT_PLACEHOLDER else "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


@bp.get("/<tenant>/discovery/v2.0/keys")
def jwks_v2(tenant):
    """The signing keys, each with the v2 issuer it signs for."""
    _, tid = _resolve_for_metadata(tenant)
    return jsonify({"keys": [_state().keys.jwk(issuer=f"{_state().base_url}/{tid}/v2.0")]})


@bp.get("/<tenant>/discovery/keys")
def jwks_v1(tenant):
    """The signing keys, v1 form (no issuer field)."""
    _resolve_for_metadata(tenant)
    return jsonify({"keys": [_state().keys.jwk()]})


@bp.get("/common/discovery/instance")
def instance_discovery():
    """Answers msal's instance discovery for our host, so instance_discovery=False is optional."""
    endpoint = request.args.get("authorization_endpoint", "")
    parts = urlparse(endpoint).path.strip("/").split("/")
    tenant = parts[0] if parts and parts[0] else "common"
    host = urlparse(_state().base_url).netloc
    return jsonify(
        {
            "tenant_discovery_endpoint": f"{_state().base_url}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )


@bp.route("/oidc/userinfo", methods=["GET", "POST"])
def userinfo():
    """OIDC userinfo (Microsoft serves it on Graph's host): needs a delegated Graph token."""
    try:
        caller = tokens.verify_graph_token(_state(), request.headers.get("Authorization"))
    except tokens.TokenError as e:
        response = jsonify({"error": {"code": e.code, "message": e.message}})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    user = _state().store.users.get(caller.oid)
    if caller.app_only or user is None:
        return jsonify(
            {"error": {"code": "InvalidAuthenticationToken", "message": "userinfo needs a delegated token."}}
        ), 401
    given, _, family = user.display_name.partition(" ")
    return jsonify(
        {
            "sub": tokens.pairwise_sub(user.oid, caller.client_id or ""),
            "name": user.display_name,
            "family_name": family,
            "given_name": given,
            "picture": f"{_state().base_url}/v1.0/me/photo/$value",
            "email": user.mail,
        }
    )


# -- token endpoint ----------------------------------------------------------------
@bp.post("/<tenant>/oauth2/v2.0/token")
@bp.post("/<tenant>/oauth2/token")
def token(tenant):
    """The token endpoint; the v1 path maps `resource` to `{resource}/.default`."""
    form = request.form.to_dict()
    if "scope" not in form and form.get("resource"):
        form["scope"] = form["resource"].rstrip("/") + "/.default"
    grant_type = form.get("grant_type")
    handlers = {
        GRANT_OBO: _on_behalf_of,
        "client_credentials": _client_credentials,
        "authorization_code": _authorization_code,
        "refresh_token": _refresh_token,
    }
    if not grant_type:
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
        )
    if grant_type not in handlers:
        raise OAuthError(
            "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )
    tenant_obj = tenant_or_error(_state().store, tenant)
    return handlers[grant_type](form, tenant, tenant_obj)


def _on_behalf_of(form, segment, tenant):
    """OBO: trade an API token for our app for a Graph token for the same user."""
    state = _state()
    app = authenticate_client(state.store, form, request.headers.get("Authorization"), segment)
    if form.get("requested_token_use") != "on_behalf_of":
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the following parameter: 'requested_token_use'."
        )
    if not form.get("assertion"):
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the following parameter: 'assertion'."
        )
    claims = _verified_assertion(state, form["assertion"], app)
    user = state.store.users.get(claims.get("oid"))
    if user is None:
        raise OAuthError(
            "invalid_grant",
            50034,
            f"The user account {claims.get('upn') or claims.get('preferred_username')} does "
            f"not exist in the {claims.get('tid')} directory.",
        )
    refuse_disabled(user)
    if tenant is not None and tenant.tid != user.tid:
        raise OAuthError(
            "invalid_grant",
            50020,
            f"User account '{user.upn}' from identity provider '{claims['iss']}' does not "
            f"exist in tenant '{tenant.name}' and cannot access the application "
            f"'{app.client_id}'({app.display_name}) in that tenant.",
        )
    scopes = parse_scopes(form.get("scope"), state.store)
    return _user_tokens(state, app, user, scopes, form, issue_id_token=False)


def _verified_assertion(state, assertion: str, app) -> dict:
    """The claims of an OBO assertion: ours, unexpired, for this app, delegated."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", 50027, "JWT token is invalid or malformed.") from None
    if header.get("kid") != state.keys.kid:
        raise OAuthError(
            "invalid_grant", 50013, "Assertion failed signature validation. [Reason - The key was not found.]"
        )
    try:
        claims = jwt.decode(
            assertion,
            state.keys.public_key,
            algorithms=["RS256"],
            options={
                "verify_aud": False,
                "verify_exp": False,
                "verify_nbf": False,
                "require": ["exp", "aud", "iss", "tid"],
            },
        )
    except jwt.PyJWTError as e:
        raise OAuthError("invalid_grant", 50013, f"Assertion failed signature validation. [Reason - {e}.]") from None
    now = int(time.time())
    if claims["exp"] + tokens.CLOCK_SKEW_S < now or claims.get("nbf", 0) - tokens.CLOCK_SKEW_S > now:
        raise OAuthError(
            "invalid_grant",
            500133,
            "Assertion is not within its valid time range. Ensure that the access token "
            "is not expired before using it for user assertion, or request a new token. "
            f"Current time: {_iso(now)}, expiry time of assertion {_iso(claims['exp'])}.",
        )
    tid = claims["tid"]
    if claims["iss"] not in (tokens.issuer_v1(state, tid), tokens.issuer_v2(state, tid)):
        raise OAuthError(
            "invalid_grant", 50013, "Assertion failed signature validation. [Reason - The issuer is not trusted.]"
        )
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not any(a == app.client_id or a in app.identifier_uris for a in audiences):
        raise OAuthError(
            "invalid_grant",
            50013,
            "Assertion audience does not match the Client app presenting the assertion. "
            f"The audience in the assertion was '{claims['aud']}' and the expected audience "
            f"is '{app.client_id}' or one of the Application Uris of this application with "
            f"App ID '{app.client_id}'({app.display_name}).",
        )
    if not claims.get("scp"):
        raise OAuthError(
            "invalid_grant",
            50013,
            "Assertion contains no delegated scope: an app-only token cannot be used for on-behalf-of.",
        )
    return claims


def _client_credentials(form, segment, tenant):
    """App-only token with the roles consented in the tenant of the authority."""
    state = _state()
    app = authenticate_client(state.store, form, request.headers.get("Authorization"), segment)
    if tenant is None:
        raise OAuthError(
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided credentials.",
        )
    scopes = parse_scopes(form.get("scope"), state.store)
    if scopes.resource is None or scopes.names != [".default"]:
        raise OAuthError(
            "invalid_scope",
            1002012,
            f"The provided value for scope {form.get('scope')} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the "
            "resource identifier (application ID URI).",
        )
    if scopes.resource != GRAPH_RESOURCE:
        raise OAuthError(
            "invalid_scope",
            500011,
            f"The resource principal named {scopes.resource} is not available for app-only tokens in the emulator.",
        )
    roles = granted_roles(app, tenant.tid)
    return _token_response(tokens.graph_app_token(state, tenant.tid, app, roles))


def _authorization_code(form, segment, tenant):
    """Redeem a code from the sign-in page; PKCE-bound codes may come without a secret."""
    state = _state()
    code = state.grants.redeem_code(form.get("code"))
    app = authenticate_client(
        state.store, form, request.headers.get("Authorization"), segment, secret_optional=bool(code.code_challenge)
    )
    if app.client_id != code.client_id:
        raise OAuthError(
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid. The code was issued to a different client.",
        )
    if (form.get("redirect_uri") or code.redirect_uri) != code.redirect_uri:
        raise OAuthError(
            "invalid_grant",
            70000,
            "The provided value for the 'redirect_uri' is not valid. It must match the "
            "redirect URI used to obtain the authorization code.",
        )
    if code.code_challenge and not pkce_matches(
        form.get("code_verifier"), code.code_challenge, code.code_challenge_method
    ):
        raise OAuthError(
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )
    user = state.store.users.get(code.oid)
    refuse_disabled(user)
    scopes = parse_scopes(code.scope, state.store)
    return _user_tokens(
        state,
        app,
        user,
        scopes,
        form,
        nonce=code.nonce,
        public=bool(code.code_challenge) and not form.get("client_secret"),
    )


def _refresh_token(form, segment, tenant):
    """New tokens (and a new refresh token) for the user behind a refresh token."""
    state = _state()
    grant = state.grants.refresh_grant(form.get("refresh_token"))
    app = authenticate_client(
        state.store, form, request.headers.get("Authorization"), segment, secret_optional=grant.public
    )
    if app.client_id != grant.client_id:
        raise OAuthError("invalid_grant", 70000, "The refresh token was issued to a different client.")
    user = state.store.users.get(grant.oid)
    if user is None:
        raise OAuthError("invalid_grant", 50034, "The user account does not exist in the directory.")
    refuse_disabled(user)
    scopes = parse_scopes(form.get("scope") or grant.scope, state.store)
    if "offline_access" not in scopes.oidc:
        scopes.oidc.append("offline_access")  # a refresh always returns a new refresh token
    return _user_tokens(state, app, user, scopes, form, public=grant.public)


def _user_tokens(state, app, user, scopes, form, nonce=None, public=False, issue_id_token=True):
    """Access token (+ refresh, id token, client_info) for `user`, consent permitting."""
    if scopes.resource in (None, GRAPH_RESOURCE):
        names = granted_delegated(app, user.tid, scopes)
        access = tokens.graph_user_token(state, user, app, names)
        scope_text = response_scope(GRAPH_RESOURCE, names, scopes.oidc)
    else:  # a token for one of our own APIs (e.g. the backend asking for its own scope)
        api = api_app_for(state.store, scopes.resource)
        access = tokens.api_token(state, user, api, ver=2, scope=" ".join(scopes.names), client_id=app.client_id)
        scope_text = response_scope(scopes.resource, scopes.names, scopes.oidc)
    extra = {}
    if scopes.wants_refresh_token:
        raw_scope = " ".join([f"{scopes.resource or GRAPH_RESOURCE}/{n}" for n in scopes.names] + scopes.oidc)
        extra["refresh_token"] = state.grants.issue_refresh_token(app.client_id, user.oid, raw_scope, public)
    if scopes.wants_id_token and issue_id_token:
        extra["id_token"] = tokens.id_token(state, user, app.client_id, nonce, app=app)
    if form.get("client_info") == "1":
        extra["client_info"] = tokens.client_info(user)
    return _token_response(access, scope=scope_text, **extra)


def _token_response(access_token: str, scope: str | None = None, **extra):
    # Entra reports one second less than the lifetime it minted.
    body = {"token_type": "Bearer"}
    if scope is not None:
        body["scope"] = scope
    body.update(
        expires_in=DEFAULT_LIFETIME_S - 1, ext_expires_in=DEFAULT_LIFETIME_S - 1, access_token=access_token, **extra
    )
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store, no-cache"
    response.headers["Pragma"] = "no-cache"
    return response


def _iso(epoch: int) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(epoch))
