"""Sign in with Microsoft: msal's authorization-code flow (with PKCE and nonce)
against AUTHORITY_HOST, locally the emulator.

The signed-in user is kept in the session cookie as {tid, oid, upn, name} only:
no token is stored. The flow's state/nonce/verifier ride in the same (signed)
cookie between the redirect and the callback, and are dropped at the callback.
"""
from __future__ import annotations

import logging
import time
import uuid
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit

import msal
import requests
from flask import current_app, g, redirect, render_template, request, session, url_for

from server.auth import trusted_session
from server.auth.identity_http import METADATA_TIMEOUT, TimeoutHttpClient
from server.crm.tenants import get_or_create_user
from server.db import db_session
from server.web import csrf
from server.web.blueprint import bp

log = logging.getLogger(__name__)

SIGN_IN_SCOPES = ["User.Read"]   # msal adds openid, profile and offline_access
SESSION_MAX_AGE_S = 12 * 3600    # sign in again after a working day
CALLBACK_PATH = "/auth/callback"


@dataclass(frozen=True)
class WebUser:
    """Who is signed in to the pages (from the validated id token)."""
    tid: str
    oid: str
    upn: str
    name: str


def redirect_uri() -> str:
    """{PUBLIC_BASE_URL}/auth/callback: must be one of the app registration's redirect URIs."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + CALLBACK_PATH


def authority() -> str:
    host = current_app.config["AUTHORITY_HOST"].rstrip("/")
    return f"{host}/{current_app.config['AZURE_TENANT_ID']}"


def msal_app() -> msal.ConfidentialClientApplication:
    """A fresh msal app (fresh token cache) per sign-in step: sign-in keeps no
    tokens, so nothing accumulates in memory across users."""
    config = current_app.config
    host = urlsplit(config["AUTHORITY_HOST"]).hostname or ""
    return msal.ConfidentialClientApplication(
        config["AZURE_CLIENT_ID"], client_credential=config["AZURE_CLIENT_SECRET"],
        authority=authority(),
        instance_discovery=None if host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS else False,
        http_client=TimeoutHttpClient(trusted_session(), METADATA_TIMEOUT),
        token_cache=msal.TokenCache())


def safe_next(target: str | None) -> str:
    """Only our own paths: an open redirect would make sign-in a phishing tool."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("web.home")
    return target


def current_user() -> WebUser | None:
    """The signed-in user of this request, or None (also when the session is too old)."""
    if "web_user" in g:
        return g.web_user
    data = session.get("user")
    user = None
    if isinstance(data, dict) and time.time() - float(session.get("signed_in_at") or 0) < SESSION_MAX_AGE_S:
        user = WebUser(tid=data.get("tid", ""), oid=data.get("oid", ""),
                       upn=data.get("upn", ""), name=data.get("name", ""))
    g.web_user = user
    return user


def _is_guid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def validated_identity(claims: dict) -> WebUser:
    """The user behind id-token claims msal has decoded (it checked nonce, aud and
    expiry); we check the tenant, object id, audience and issuer again.
    Raises ValueError with a reason."""
    tid, oid = claims.get("tid"), claims.get("oid")
    if not _is_guid(tid) or not _is_guid(oid):
        raise ValueError("the sign-in answer named no valid tenant or user")
    if claims.get("aud") != current_app.config["AZURE_CLIENT_ID"]:
        raise ValueError("the sign-in answer was issued to another application")
    host = current_app.config["AUTHORITY_HOST"].rstrip("/")
    if claims.get("iss") not in {f"{host}/{tid}/v2.0", f"{host}/{str(tid).lower()}/v2.0"}:
        raise ValueError("the sign-in answer came from an unexpected issuer")
    return WebUser(tid=str(tid).lower(), oid=str(oid).lower(),
                   upn=str(claims.get("preferred_username") or claims.get("upn") or ""),
                   name=str(claims.get("name") or ""))


def sign_in_error(message: str, status: int = 400):
    return render_template("crm/signin.html", error=message, next=None), status


class FlowError(Exception):
    """An authorization-code round trip that did not give tokens; `message` is for people."""

    def __init__(self, message: str, status: int = 400, code: str = ""):
        super().__init__(message)
        self.message = message
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
                scopes, redirect_uri=redirect_uri(), response_mode="query",
                **{k: v for k, v in auth_params.items() if v})
    except (requests.RequestException, ValueError) as exc:
        log.warning("authorization could not start: %s", exc)
        raise FlowError(UNREACHABLE, 503, "identity_unavailable") from exc
    session["auth_flow"] = flow
    session["auth_purpose"] = purpose
    session["auth_next"] = safe_next(next_path)
    return redirect(flow["auth_uri"])


UNREACHABLE = "Microsoft's sign-in service could not be reached. Try again in a moment."


def redeem(flow: dict, answer: dict) -> dict:
    """Tokens (and validated id-token claims) for the code in `answer`.
    Raises FlowError with what went wrong, in words."""
    if answer.get("error"):
        description = answer.get("error_description") or answer["error"]
        if answer["error"] == "consent_required" or "AADSTS65001" in description:
            raise FlowError("Your organization has not allowed CRM Sync yet. An administrator must grant "
                            "consent to the app, then you can sign in.", 403, "consent_required")
        raise FlowError(f"Microsoft refused the sign-in: {description}", 400, answer["error"])
    try:
        result = msal_app().acquire_token_by_auth_code_flow(flow, answer)
    except ValueError as exc:   # state mismatch, tampered answer
        log.warning("authorization callback refused: %s", exc)
        raise FlowError("The sign-in answer did not match this browser's sign-in. Start again.") from exc
    except requests.RequestException as exc:
        log.warning("authorization token request failed: %s", exc)
        raise FlowError(UNREACHABLE, 503, "identity_unavailable") from exc
    if "error" in result or "id_token_claims" not in result:
        raise FlowError(f"Microsoft refused the sign-in: {result.get('error_description') or result.get('error')}",
                        400, str(result.get("error") or ""))
    return result


@bp.get("/auth/signin")
def signin():
    """Starts the authorization-code flow: off to Microsoft's sign-in page."""
    try:
        return start_flow(SIGN_IN_SCOPES, purpose="signin", next_path=request.args.get("next"),
                          login_hint=request.args.get("login_hint"))
    except FlowError as error:
        return sign_in_error(error.message, error.status)


@bp.get(CALLBACK_PATH)
def callback():
    """Where the sign-in page sends the user back with a code: redeem, validate, then
    sign in (or finish what the round trip was for)."""
    flow = session.pop("auth_flow", None)
    purpose = session.pop("auth_purpose", "signin")
    target = safe_next(session.pop("auth_next", None))
    if not flow:
        return sign_in_error("This sign-in link has expired. Start again.")
    if purpose == "test_connection":
        from server.web.settings_page import finish_test_connection  # settings_page imports this module
        return finish_test_connection(flow, request.args.to_dict())
    try:
        result = redeem(flow, request.args.to_dict())
        user = validated_identity(result["id_token_claims"])
    except FlowError as error:
        return sign_in_error(error.message, error.status)
    except ValueError as exc:
        return sign_in_error(f"The sign-in could not be trusted: {exc}.")

    db = db_session()
    get_or_create_user(db, user.tid, user.oid, upn=user.upn, name=user.name,
                       auto_link_companies=current_app.config.get("AUTO_LINK_COMPANIES"))
    db.commit()
    session.clear()   # no state from before sign-in survives (session fixation)
    session["user"] = {"tid": user.tid, "oid": user.oid, "upn": user.upn, "name": user.name}
    session["signed_in_at"] = int(time.time())
    csrf.rotate()
    return redirect(target)


@bp.post("/auth/signout")
def signout():
    """Forgets the signed-in user (the form carries the CSRF token)."""
    session.clear()
    return redirect(url_for("web.signed_out"))


@bp.get("/auth/signed-out")
def signed_out():
    """The page after sign-out."""
    if current_user() is not None:
        return redirect(url_for("web.home"))
    return render_template("crm/signin.html", error=None, next=None, signed_out=True)
