"""CSRF protection for the pages' forms: a random token per session, sent back
in a hidden `csrf_token` field of every form and compared on every unsafe request.

A post without the token, with another session's token, or from another origin
is refused with 400 (the caller renders it as a plain error page). The session
cookie is SameSite=Lax as a second line; this check does not rely on it.

A file upload's body is large: its token comes in the `X-CSRF-Token` header or the
query string of the form's action (`?csrf_token=...`), so the check reads no body, and
the page guard makes it after sign-in and the admin right, before the view reads one.
"""

from __future__ import annotations

import hmac
import secrets

from flask import current_app, request, session
from flask_babel import gettext
from werkzeug.exceptions import BadRequest

FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class FormRefused(BadRequest):
    """A form post this check refused (400); its description is for people."""


def csrf_token() -> str:
    """The session's token, created on first use (templates call it in every form)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def rotate() -> None:
    """A new token, e.g. at sign-in, so one seen before signing in is worthless."""
    session["csrf"] = secrets.token_urlsafe(32)


def _same_origin(value: str | None) -> bool:
    if not value:
        return True  # browsers omit Origin on some same-origin posts; the token decides
    allowed = {current_app.config["PUBLIC_BASE_URL"].rstrip("/"), request.host_url.rstrip("/")}
    return value.rstrip("/") in allowed


def protect(*, read_body: bool = True) -> None:
    """Raises FormRefused (400) unless an unsafe request carries this session's token.
    `read_body=False` (uploads): only the header or the query string may carry it."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf")
    sent = request.headers.get("X-CSRF-Token") or ""
    if not sent:
        sent = (request.form.get(FIELD) if read_body else request.args.get(FIELD)) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        raise FormRefused(
            gettext("The form has expired or did not come from this site. Reload the page and try again.")
        )
    if not _same_origin(request.headers.get("Origin")):
        raise FormRefused(gettext("The form was posted from another site."))
