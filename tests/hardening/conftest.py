"""Hardening tests run the backend as tests/api does (real database, the emulator as
Microsoft 365, tokens it mints), plus apps with small rate limits."""
from __future__ import annotations

import pytest

from server import create_app
from tests.api.conftest import *  # noqa: F401,F403  (app, client, clean_state, crm, pane, ...)
from tests.api.conftest import backend_settings


@pytest.fixture
def make_app(emulator, database_url, tmp_path):
    """`make_app(**settings)` -> a fresh app (fresh rate-limit counters) on the test database."""
    def make(**overrides):
        return create_app(backend_settings(emulator, database_url, INSTANCE_DIR=str(tmp_path), **overrides))
    return make
