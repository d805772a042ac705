"""The reliability suites on the automatic suite's real stack (live backend for
webhooks, in-process or RQ job queue, real emulator), with short Graph timeouts so
that a hanging Graph costs seconds, not minutes, per fault."""
from __future__ import annotations

import pytest

from server import create_app
from tests.automatic.conftest import *  # noqa: F401,F403  (fixtures: emulator, adele, pane, redis_url, ...)
from tests.automatic.conftest import JOB_SETTINGS, LiveBackend, backend_settings

# A Graph request that takes longer than this is a timeout; retries share the same
# budget, so a Retry-After longer than it goes back to the caller at once.
GRAPH_TIMEOUT_S = 2
GRAPH_MAX_WAIT_S = 2


@pytest.fixture(scope="session")
def app(emulator, database_url, tmp_path_factory):
    """The backend with the embedded job queue, served live for webhooks."""
    application = create_app(backend_settings(
        emulator, database_url, **JOB_SETTINGS, GRAPH_TIMEOUT_S=GRAPH_TIMEOUT_S,
        GRAPH_MAX_WAIT_S=GRAPH_MAX_WAIT_S, INSTANCE_DIR=str(tmp_path_factory.mktemp("instance"))))
    live = LiveBackend(application)
    yield application
    live.stop()
