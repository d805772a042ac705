"""Whether Entra ID still lets a signed-in user in: every SESSION_RECHECK_S a page
request renews the session's refresh token silently (msal, the refresh-token grant).
Entra refusing it (`invalid_grant`: the account disabled or deleted, its password
reset, its sessions revoked, consent withdrawn; `interaction_required`: a new
Conditional Access demand) ends every session of that user at once.

When Entra cannot be reached, or answers with a failure of its own, the session goes
on and is checked again a minute later: an outage of the sign-in service does not
sign the whole organization out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import requests
from flask import current_app
from msal.exceptions import MsalError

from server.auth.page_sessions import SIGN_IN_REFUSED, SessionRecord, end_sessions, seal, unseal
from server.web.auth_code_flow import SIGN_IN_SCOPES, msal_app
from server.web.signed_in_user import WebUser

log = logging.getLogger(__name__)

# Entra's answers that mean "this user may no longer sign in here".
REFUSALS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})
RETRY_AFTER_FAILURE = timedelta(seconds=60)


def check_due(record: SessionRecord, now: datetime) -> bool:
    return now - record.checked_at >= timedelta(seconds=int(current_app.config["SESSION_RECHECK_S"]))


def confirm_sign_in(record: SessionRecord, user: WebUser, now: datetime) -> bool:
    """Asks Entra to renew the session's refresh token. True: the user may go on (the
    record now holds the new token and `checked_at`; the caller saves it). False:
    Entra refused, and every session of the user has been ended."""
    config = current_app.config
    refresh_token = unseal(config["SECRET_KEY"], record.refresh_token)
    if refresh_token is None:
        return _refused(record, "no refresh token to renew")
    try:
        result = msal_app().acquire_token_by_refresh_token(refresh_token, scopes=SIGN_IN_SCOPES)
    except (requests.RequestException, MsalError, ValueError) as exc:  # unreachable, a 5xx, not JSON
        log.warning("sign-in re-check could not reach Entra ID: %s", exc)
        return _later(record, now)
    error = result.get("error")
    if error in REFUSALS:
        return _refused(record, str(result.get("error_description") or error).splitlines()[0])
    if error or "access_token" not in result:
        log.warning("sign-in re-check failed: %s", result.get("error_description") or error)
        return _later(record, now)
    claims = result.get("id_token_claims") or {}
    if claims and str(claims.get("oid", "")).lower() != user.oid:
        return _refused(record, "Entra ID answered for another user")
    record.refresh_token = seal(config["SECRET_KEY"], result.get("refresh_token") or refresh_token)
    record.checked_at = now
    return True


def _later(record: SessionRecord, now: datetime) -> bool:
    interval = timedelta(seconds=int(current_app.config["SESSION_RECHECK_S"]))
    record.checked_at = now - interval + RETRY_AFTER_FAILURE
    return True


def _refused(record: SessionRecord, why: str) -> bool:
    log.info("Entra ID refused the sign-in of user %s in tenant %s: %s", record.user_id, record.tenant_id, why)
    end_sessions(
        current_app._get_current_object(),
        tenant_id=record.tenant_id,
        user_id=record.user_id,
        reason=SIGN_IN_REFUSED,
    )
    return False
