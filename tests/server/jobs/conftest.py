"""The job queue runs on the live backend: served over HTTP for Graph's webhooks, with the
in-process job queue (and, for the `redis` tests, RQ workers on a real Redis)."""

import pytest


@pytest.fixture(scope="session")
def app(live_app):
    return live_app
