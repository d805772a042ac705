"""The database: one engine and sessionmaker per app, a session per request.

`db_session()` gives the request's session (opened on first use, closed on
teardown). Scripts and jobs use `session_scope(app)`. Models live in
`server.crm.models` (no Flask there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# SQLite waits this long for a lock held by another writer before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(database_url: str, **kwargs) -> Engine:
    """An engine tuned for the backend: SQLite in WAL mode with foreign keys and a
    busy timeout (several threads and processes write to one file); PostgreSQL
    with pre-ping so a restarted server does not break pooled connections."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Database:
    """Flask extension: `init_app` builds the app's engine and sessionmaker from
    DATABASE_URL and closes the request session on teardown."""

    def __init__(self, app: Flask | None = None):
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        # Each session carries the app's settings, so the CRM (which knows no Flask)
        # reads the limits it enforces, e.g. ATTACHMENT_MAX_BYTES, from session.info.
        factory = sessionmaker(bind=engine, expire_on_commit=False, info={"settings": app.config})
        app.extensions["crm_db"] = DatabaseState(engine, factory)
        app.teardown_appcontext(close_db_session)

    @staticmethod
    def state(app: Flask | None = None) -> DatabaseState:
        return (app or current_app).extensions["crm_db"]


class DatabaseState:
    def __init__(self, engine: Engine, session_factory: sessionmaker[Session]):
        self.engine = engine
        self.session_factory = session_factory


def engine_for(app: Flask | None = None) -> Engine:
    return Database.state(app).engine


def db_session() -> Session:
    """The current request's (app context's) session; created on first use."""
    session = g.get("_crm_db_session")
    if session is None:
        session = Database.state().session_factory()
        g._crm_db_session = session
    return session


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("_crm_db_session", None)
    if session is not None:
        # Uncommitted work of a failed request is rolled back by close().
        session.close()


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session for scripts and jobs: commits on success, rolls back on error,
    always closes. Works without an app context."""
    session = Database.state(app).session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
