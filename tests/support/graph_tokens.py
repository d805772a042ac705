"""The backend's Graph token source in tests: a fresh one (as a newly started worker
has it), the token it caches for a pane token, and how many token requests it made."""

from __future__ import annotations

from server.auth import AuthState
from server.auth.graph_tokens import GraphTokens
from server.auth.token_validator import TokenValidator
from server.tls import http_session

TOKEN_PATH = r"/oauth2/v2\.0/token$"


def fresh_token_source(app) -> AuthState:
    """The app's token source with empty caches."""
    session = http_session(app.config)
    return AuthState(session, TokenValidator(app.config, session), GraphTokens(app.config, session))


def token_requests(emulator) -> int:
    return len(emulator.requests(path=TOKEN_PATH))


def cached_delegated_token(state: AuthState, pane_token: str) -> str:
    """The Graph token the backend holds for this pane token (served from its cache)."""
    return state.graph_tokens.delegated(state.validator.validate(pane_token))
