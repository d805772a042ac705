"""Contacts, cases and notes run on the same real stack as the core API tests."""
from tests.api.conftest import *  # noqa: F401,F403  (fixtures: app, client, crm, pane, clean_state, ...)
