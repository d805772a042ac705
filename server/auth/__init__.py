"""Who is calling, and Graph tokens on their behalf: the app's auth state and what
views use (`require_auth`, `current_principal`, `graph_token_for`, `app_graph_token`).

The work is done in this package's modules: `token_validator` (the bearer token),
`graph_tokens` (msal: on-behalf-of and app-only), `principal` (the caller) and
`identity_http` (timeouts towards the identity provider).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import requests
from flask import current_app, g, request

from server.domain_errors import Forbidden
from server.tls import http_session

from .graph_tokens import GraphTokens
from .principal import AuthError, Principal
from .token_validator import TokenValidator


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
            state = AuthState(session, TokenValidator(app.config, session), GraphTokens(app.config, session))
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


class AdminRequired(Forbidden):
    """The caller is signed in but does not administer CRM Sync (403)."""

    code = "admin_required"


ADMIN_REQUIRED_MESSAGE = (
    "Only an administrator of CRM Sync can do this: someone assigned the Crm.Admin role of the app "
    "in Microsoft Entra ID, or a Global Administrator."
)


def require_auth(view=None, *, role: str | None = None, admin: bool = False):
    """Decorator: validate the bearer token and set `g.principal`; `role` also admits
    app-only tokens carrying that app role; `admin` admits only users whose token makes
    them administrators (Principal.is_admin), anyone else gets 403 `admin_required`.
    Use as `@require_auth`, `@require_auth(role="...")` or `@require_auth(admin=True)`."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            g.principal = auth_state().validator.validate(bearer_token(), required_role=role)
            if admin and not g.principal.is_admin:
                raise AdminRequired(ADMIN_REQUIRED_MESSAGE)
            return fn(*args, **kwargs)

        wrapper.admin_only = admin  # found by the test that every admin endpoint refuses others
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
