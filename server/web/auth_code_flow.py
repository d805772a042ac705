"""msal's authorization-code round trip (with PKCE and nonce) against
AUTHORITY_HOST, locally the emulator: start it, redeem the code the callback
brings back, and check the identity in the id token. Sign-in and Test connection
both use it.

The flow's state/nonce/verifier ride in the session between the redirect and the
callback (before sign-in, the short signed `crm_signin` cookie; signed in, the
server-side session), and are dropped at the callback.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
import warnings
from urllib.parse import urlsplit

import msal
import requests
from flask import current_app, redirect, session, url_for
from flask_babel import gettext, lazy_gettext

from server.auth import trusted_session
from server.auth.identity_http import METADATA_TIMEOUT, TimeoutHttpClient
from server.auth.principal import claims_grant_admin, is_personal_account, string_claims
from server.web.signed_in_user import WebUser

log = logging.getLogger(__name__)

CALLBACK_PATH = "/auth/callback"
SIGN_IN_SCOPES = ["User.Read"]  # msal adds openid, profile and offline_access
UNREACHABLE = lazy_gettext("Microsoft's sign-in service could not be reached. Try again in a moment.")


def redirect_uri() -> str:
    """{PUBLIC_BASE_URL}/auth/callback: must be one of the app registration's redirect URIs."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + CALLBACK_PATH


def authority() -> str:
    host = current_app.config["AUTHORITY_HOST"].rstrip("/")
    return f"{host}/{current_app.config.get('AZURE_TENANT_ID') or 'organizations'}"


def msal_app() -> msal.ConfidentialClientApplication:
    """A fresh msal app (fresh token cache) per sign-in step: the only token kept is
    the session's refresh token, sealed in the session backend, so nothing
    accumulates in memory across users."""
    config = current_app.config
    host = urlsplit(config["AUTHORITY_HOST"]).hostname or ""
    return msal.ConfidentialClientApplication(
        config["AZURE_CLIENT_ID"],
        client_credential=config["AZURE_CLIENT_SECRET"],
        authority=authority(),
        instance_discovery=None if host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS else False,
        http_client=TimeoutHttpClient(trusted_session(), METADATA_TIMEOUT),
        token_cache=msal.TokenCache(),
    )


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make sign-in a phishing tool.

    Browsers and werkzeug forgive a lot on the way to a Location header (a slash, a tab
    and "/evil" is sent as "//evil"; a backslash reads as a slash), so anything but a plain path is
    refused outright: no scheme, no host, and no backslash, control character or
    white space anywhere."""
    home = url_for("web.home")
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return home
    if "\\" in target or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def _is_guid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def validated_identity(claims: dict) -> WebUser:
    """The user behind id-token claims msal has decoded (it checked nonce, aud and
    expiry); we check the tenant, object id, audience and issuer again. Whether the
    user administers CRM Sync comes from the claims too (`roles`, `wids`).
    Raises ValueError with a reason, and FlowError (403) for a personal Microsoft
    account unless ALLOW_PERSONAL_ACCOUNTS: the pane's tokens are held to the same rule."""
    tid, oid = claims.get("tid"), claims.get("oid")
    if not _is_guid(tid) or not _is_guid(oid):
        raise ValueError(gettext("the sign-in answer named no valid tenant or user"))
    if is_personal_account(tid) and not current_app.config["ALLOW_PERSONAL_ACCOUNTS"]:
        raise FlowError(
            gettext(
                "Personal Microsoft accounts (outlook.com, hotmail.com, live.com) cannot use CRM Sync. "
                "Sign in with your work or school account."
            ),
            403,
            "personal_account_not_allowed",
        )
    if claims.get("aud") != current_app.config["AZURE_CLIENT_ID"]:
        raise ValueError(gettext("the sign-in answer was issued to another application"))
    host = current_app.config["AUTHORITY_HOST"].rstrip("/")
    if claims.get("iss") not in {f"{host}/{tid}/v2.0", f"{host}/{str(tid).lower()}/v2.0"}:
        raise ValueError(gettext("the sign-in answer came from an unexpected issuer"))
    return WebUser(
        tid=str(tid).lower(),
        oid=str(oid).lower(),
        upn=str(claims.get("preferred_username") or claims.get("upn") or ""),
        name=str(claims.get("name") or ""),
        is_admin=claims_grant_admin(string_claims(claims.get("roles")), string_claims(claims.get("wids"))),
    )


class FlowError(Exception):
    """An authorization-code round trip that did not give tokens; `message` is for people."""

    def __init__(self, message: str, status: int = 400, code: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.status = status
        self.code = code


def start_flow(scopes: list[str], *, purpose: str, next_path: str | None = None, **auth_params):
    """Starts an authorization-code round trip (PKCE, nonce, state in the session)
    and answers the redirect to the authorize page. `purpose` tells the callback
    what the code is for: "signin", or "test_connection" (a delegated Graph token).
    Raises FlowError when the authority cannot be reached."""
    try:
        with warnings.catch_warnings():
            # msal recommends response_mode=form_post; the answer would then be a
            # cross-site POST, which the SameSite=Lax session cookie (holding the
            # flow) does not ride on. The code is single-use and PKCE-bound.
            warnings.filterwarnings("ignore", message="response_mode='form_post'")
            flow = msal_app().initiate_auth_code_flow(
                scopes,
                redirect_uri=redirect_uri(),
                response_mode="query",
                **{k: v for k, v in auth_params.items() if v},
            )
    except (requests.RequestException, ValueError) as exc:
        log.warning("authorization could not start: %s", exc)
        raise FlowError(UNREACHABLE, 503, "identity_unavailable") from exc
    session["auth_flow"] = flow
    session["auth_purpose"] = purpose
    session["auth_next"] = safe_next(next_path)
    return redirect(flow["auth_uri"])


def redeem(flow: dict, answer: dict) -> dict:
    """Tokens (and validated id-token claims) for the code in `answer`.
    Raises FlowError with what went wrong, in words."""
    if answer.get("error"):
        description = answer.get("error_description") or answer["error"]
        if answer["error"] == "consent_required" or "AADSTS65001" in description:
            raise FlowError(
                gettext(
                    "Your organization has not allowed CRM Sync yet. An administrator must grant "
                    "consent to the app, then you can sign in."
                ),
                403,
                "consent_required",
            )
        raise FlowError(gettext("Microsoft refused the sign-in: %(reason)s", reason=description), 400, answer["error"])
    try:
        result = msal_app().acquire_token_by_auth_code_flow(flow, answer)
    except ValueError as exc:  # state mismatch, tampered answer
        log.warning("authorization callback refused: %s", exc)
        raise FlowError(gettext("The sign-in answer did not match this browser's sign-in. Start again.")) from exc
    except requests.RequestException as exc:
        log.warning("authorization token request failed: %s", exc)
        raise FlowError(UNREACHABLE, 503, "identity_unavailable") from exc
    if "error" in result or "id_token_claims" not in result:
        raise FlowError(
            gettext(
                "Microsoft refused the sign-in: %(reason)s",
                reason=result.get("error_description") or result.get("error"),
            ),
            400,
            str(result.get("error") or ""),
        )
    return result
