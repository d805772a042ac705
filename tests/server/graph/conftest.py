"""Graph's faults and refused tokens run on the fault backend (live for webhooks, with the
in-process job queue), whose short Graph timeouts make a hanging Graph cost seconds, not
minutes, per fault."""

import pytest

from tests.support.graph_tokens import fresh_token_source


@pytest.fixture(scope="session")
def app(fault_app):
    return fault_app


@pytest.fixture
def fresh_tokens(app, monkeypatch):
    """The app's token source as a freshly started worker has it: empty caches."""
    state = fresh_token_source(app)
    monkeypatch.setitem(app.extensions, "crm_auth", state)
    return state
