"""Fixtures for the backend's tests, on a real, migrated database (TEST_DATABASE_URL if
set: a fresh PostgreSQL database beside the named one, dropped after the session; else a
temporary SQLite file), with the emulator over HTTPS as Microsoft 365.

Four backends, each on a database of its own so that one's leftovers never reach another:
- `app`: the backend the pane calls (session-wide), with `client`, `clean_state`, `crm`
  and `pane` on it. tests/server/{sync,jobs}/ make it the live backend, and
  tests/server/graph/ the fault backend, by overriding `app`.
- `live_app`: served over HTTP for Graph's webhooks, with the in-process job queue
  (`redis_app`: the same with its jobs on RQ and Redis).
- `fault_app`: the live backend with a short Graph budget, so a hanging Graph costs
  seconds, not minutes, per fault.
- `offline_app`: a fresh app per test with a database and no Microsoft 365, emptied
  after the test (`offline_client`, `session_factory`, `db` on it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from server import create_app
from server.crm.tenants import get_or_create_user
from server.db import Database, session_scope
from server.jobs.running import runner_for
from server.sync.recent_reads import reads_for
from tests.support.backend import (
    GRAPH_MAX_WAIT_S,
    GRAPH_TIMEOUT_S,
    JOB_SETTINGS,
    LiveBackend,
    Pane,
    app_config,
    backend_settings,
    settle_jobs,
)
from tests.support.database import empty_crm, fresh_database, migrated_database
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.rq_processes import RqWorkers, redis_server, redis_server_binary
from tests.support.waiting import wait_for

# -- databases ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with migrated_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory) -> Iterator[str]:
    with migrated_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def fault_database_url(tmp_path_factory) -> Iterator[str]:
    with migrated_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def offline_database_url(tmp_path_factory) -> Iterator[str]:
    with migrated_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def fresh_database_factory(tmp_path_factory):
    """Context manager giving an EMPTY database (no migrations) of the test backend."""
    return lambda: fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("fresh"))


# -- the backend the pane calls ------------------------------------------------------------


@pytest.fixture(scope="session")
def app(emulator, database_url, tmp_path_factory):
    # Not served over HTTP, so Graph cannot reach its webhook: no background catch-up or
    # subscription on pane open, whose Graph calls would mix with the ones tests count.
    return create_app(
        backend_settings(
            emulator, database_url, CATCH_UP_ON_OPEN=False, INSTANCE_DIR=str(tmp_path_factory.mktemp("instance"))
        )
    )


@pytest.fixture
def client(app, clean_state):
    return app.test_client()


@pytest.fixture
def clean_state(app, emulator):
    """Each test starts from the fixture mailboxes, an empty CRM and no pane read held
    from an earlier test (a reset gives the messages their first etags again)."""
    settle_jobs(app)  # a job left by an earlier test must not call Graph during this one
    emulator.reset()
    reads = reads_for(app)
    if reads is not None:
        reads.clear()
    with session_scope(app) as session:
        empty_crm(session)
    yield


@pytest.fixture
def crm(app):
    """A CRM session for arranging and checking records."""
    with session_scope(app) as session:
        yield session


@pytest.fixture
def pane(client, emulator):
    """`pane(upn)` -> a Pane for that user (default Adele)."""

    def make(upn: str = ADELE) -> Pane:
        return Pane(client, emulator, upn)

    return make


@pytest.fixture
def adele(app, clean_state):
    """Adele as a CRM user (the pane would create her on first use)."""
    with session_scope(app) as session:
        user = get_or_create_user(session, CONTOSO, ADELE_OID, ADELE, "Adele Vance")
        session.commit()
        return user.id


@pytest.fixture
def make_app(emulator, database_url, tmp_path):
    """`make_app(**settings)` -> a fresh app (fresh rate-limit counters) on the test database."""

    def make(**overrides):
        settings = {"CATCH_UP_ON_OPEN": False, **overrides}  # as `app`: not served for webhooks
        return create_app(backend_settings(emulator, database_url, INSTANCE_DIR=str(tmp_path), **settings))

    return make


# -- the live backends ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_app(emulator, live_database_url, tmp_path_factory):
    """The backend with the embedded job queue, served live for webhooks."""
    application = create_app(
        backend_settings(
            emulator, live_database_url, **JOB_SETTINGS, INSTANCE_DIR=str(tmp_path_factory.mktemp("instance"))
        )
    )
    live = LiveBackend(application)
    application.extensions["live_backend"] = live
    yield application
    live.stop()


@pytest.fixture(autouse=True)
def _drained(request):
    """After each test of the live backend: no notification in flight and no job of ours
    running, so nothing reaches Graph or the database during the next test (in this
    process, which under xdist may be another suite's)."""
    yield
    if "live_app" not in request.fixturenames:
        return
    app = request.getfixturevalue("live_app")
    emulator = request.getfixturevalue("emulator")
    emulator.reset()  # drops queued notifications and every subscription
    runner = runner_for(app)
    for _ in range(3):  # a notification being delivered may still queue one job
        time.sleep(0.2)
        runner.cancel_pending()
        wait_for(runner.idle, 30, 0.05, "the job threads to finish")


@pytest.fixture(scope="session")
def fault_app(emulator, fault_database_url, tmp_path_factory):
    """The backend with the embedded job queue and a short Graph budget, served live for webhooks."""
    application = create_app(
        backend_settings(
            emulator,
            fault_database_url,
            **JOB_SETTINGS,
            GRAPH_TIMEOUT_S=GRAPH_TIMEOUT_S,
            GRAPH_MAX_WAIT_S=GRAPH_MAX_WAIT_S,
            # Each fault hits the operation under test, not a background catch-up.
            CATCH_UP_ON_OPEN=False,
            INSTANCE_DIR=str(tmp_path_factory.mktemp("instance")),
        )
    )
    live = LiveBackend(application)
    yield application
    live.stop()


# -- Redis + RQ --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free port, in a temp dir, for the session."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    with redis_server(binary, tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def redis_app(emulator, live_database_url, redis_url, tmp_path_factory):
    """A backend whose jobs go to RQ on Redis, served live for webhooks."""
    application = create_app(
        backend_settings(
            emulator,
            live_database_url,
            REDIS_URL=redis_url,
            **JOB_SETTINGS,
            INSTANCE_DIR=str(tmp_path_factory.mktemp("instance")),
        )
    )
    live = LiveBackend(application)
    yield application
    live.stop()


@pytest.fixture
def rq_workers(redis_app, emulator, tmp_path):
    # redis is an optional test dependency, imported once a redis-server exists.
    from redis import Redis

    Redis.from_url(redis_app.config["REDIS_URL"]).flushdb()
    workers = RqWorkers(redis_app, emulator, tmp_path)
    yield workers
    workers.stop_all()


# -- the backend without Microsoft 365 ----------------------------------------------------


@pytest.fixture
def offline_app(offline_database_url, tmp_path):
    """An app on the migrated test database; every CRM table is emptied after the test."""
    app = create_app(app_config(offline_database_url, tmp_path / "instance"))
    yield app
    with Database.state(app).session_factory() as session:
        empty_crm(session)
    Database.state(app).engine.dispose()


@pytest.fixture
def offline_client(offline_app):
    return offline_app.test_client()


@pytest.fixture
def session_factory(offline_app):
    """Makes independent sessions on the app's engine (e.g. one per thread)."""
    return Database.state(offline_app).session_factory


@pytest.fixture
def db(session_factory) -> Iterator[Session]:
    """A session on the test database (emptied after the test by `offline_app`)."""
    session = session_factory()
    yield session
    session.rollback()
    session.close()
