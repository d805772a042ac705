"""Flask's `session` for the CRM pages, kept on the server.

Signed in, the browser holds one cookie (`crm_session`, `__Host-crm_session` over
https) whose value is only the session's random id; everything else (who, the CSRF
token, one-time notices) is in the session backend (`server.auth.page_sessions`),
where signing out, an admin, the user's removal or Entra's refusal ends it. A copied
cookie of an ended session is worth nothing.

Before sign-in there is nothing to keep on the server but the sign-in round trip's
state (state, nonce, PKCE verifier, where to go next): that rides in a short signed
cookie of its own (`crm_signin`), as Flask's default session would, and is dropped
at sign-in.

The API, the add-in's files and the static files get a null session and cost no
lookup.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, request
from flask import session as flask_session
from flask.sessions import SecureCookieSessionInterface, SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from server.auth.page_sessions import (
    SIGNED_OUT,
    SessionRecord,
    end_sessions,
    hash_id,
    start_record,
    store_for,
)
from server.crm.models import User
from server.crm.types import utcnow
from server.web.blueprint import FLOW_COOKIE, SECURE_FLOW_COOKIE

# Last seen is written at most this often (not on every page).
TOUCH_EVERY = timedelta(seconds=60)
# Paths that never use the pages' session: no lookup for them.
NOT_PAGES = ("/api/", "/addin/", "/crm/static/")


def plain(values: dict) -> dict[str, Any]:
    """The session's values as plain JSON (a lazily translated text becomes its str)."""
    return json.loads(json.dumps(values, default=str))


class BrowserSession(CallbackDict, SessionMixin):
    """The pages' `session`: the values of a signed-in session (`record` set) or of
    the sign-in round trip (`record` None)."""

    def __init__(self, initial=None, record: SessionRecord | None = None):
        def on_update(self) -> None:
            self.modified = True
            self.accessed = True

        super().__init__(initial, on_update)
        self.record = record
        self.new_id: str | None = None  # a session begun in this request: the cookie to send
        self.record_changed = False  # checked_at or the refresh token changed
        self.drop_cookie = False  # an ended or unknown session: delete the browser's cookie
        self.modified = False
        self.accessed = False


class SignInFlowCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, under its own name, for the sign-in round trip only."""

    session_class = BrowserSession

    def get_cookie_name(self, app: Flask) -> str:
        return SECURE_FLOW_COOKIE if app.config.get("SESSION_COOKIE_SECURE") else FLOW_COOKIE


class PageSessionInterface(SessionInterface):
    def __init__(self) -> None:
        self.flow = SignInFlowCookie()

    def open_session(self, app: Flask, request_) -> BrowserSession | None:
        path = request_.path
        if path.startswith(NOT_PAGES):
            return self.make_null_session(app)
        session_id = request_.cookies.get(self.get_cookie_name(app))
        if session_id:
            record = store_for(app).get(hash_id(session_id))
            if record is not None and record.live(utcnow()):
                return BrowserSession(record.data, record=record)
        session = self.flow.open_session(app, request_)
        if session is None:  # no SECRET_KEY: cannot happen, create_app always sets one
            return None
        session.drop_cookie = bool(session_id)
        return session

    def save_session(self, app: Flask, session: BrowserSession, response) -> None:
        if not isinstance(session, BrowserSession):
            return
        name = self.get_cookie_name(app)
        options = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "httponly": self.get_cookie_httponly(app),
            "samesite": self.get_cookie_samesite(app),
        }
        record = session.record
        if record is None:
            if session.drop_cookie:
                response.delete_cookie(name, **options)
            self.flow.save_session(app, session, response)
            return
        response.vary.add("Cookie")
        now = utcnow()
        if session.new_id:
            record.data = plain(session)
            store_for(app).create(record)
            response.set_cookie(name, session.new_id, **options)
            if request.cookies.get(self.flow.get_cookie_name(app)):
                response.delete_cookie(self.flow.get_cookie_name(app), **options)
            return
        if session.modified or session.record_changed or now - record.last_seen_at >= TOUCH_EVERY:
            record.data = plain(session)
            record.last_seen_at = now
            store_for(app).save(record)


def current_record() -> SessionRecord | None:
    """The signed-in session of this request, or None."""
    from_flask = _session()
    return from_flask.record if isinstance(from_flask, BrowserSession) else None


def _session():
    """The request's session object behind Flask's proxy."""
    return flask_session._get_current_object()  # type: ignore[attr-defined]


def begin(user: User, refresh_token: str | None) -> None:
    """Signs `user` in on this browser: a new session with a new id (whatever was in
    the session before is dropped, and a session this browser had is ended)."""
    session = _session()
    app = current_app._get_current_object()
    if session.record is not None:
        end_sessions(
            app,
            tenant_id=session.record.tenant_id,
            user_id=session.record.user_id,
            reason=SIGNED_OUT,
            only=[session.record.id_hash],
        )
    session.clear()
    session_id, record = start_record(
        tenant_id=user.tenant_id,
        user_id=user.id,
        user_agent=request.headers.get("User-Agent", ""),
        refresh_token=refresh_token,
        secret_key=app.config["SECRET_KEY"],
        now=utcnow(),
    )
    session.record = record
    session.new_id = session_id
    g.pop("web_user", None)


def forget() -> None:
    """This browser is signed out: its session values are dropped and its cookie deleted
    (the caller has ended the session in the backend)."""
    session = _session()
    session.clear()
    session.record = None
    session.new_id = None
    session.drop_cookie = True
    g.pop("web_user", None)


def sign_out() -> None:
    """Ends this browser's session, then forgets it."""
    record = current_record()
    if record is not None:
        end_sessions(
            current_app._get_current_object(),
            tenant_id=record.tenant_id,
            user_id=record.user_id,
            reason=SIGNED_OUT,
            only=[record.id_hash],
        )
    forget()


def session_changed() -> None:
    """The record's own fields changed (a re-check): save it with the response."""
    session = _session()
    session.record_changed = True


def init_app(app: Flask) -> None:
    app.session_interface = PageSessionInterface()
