"""The pane's hot statements, run straight on the session's DB-API connection.

Every pane request runs the same few SELECTs: its caller, the message's item, the match,
the filed email's attachments and the conversation's links; and a sync the same few
writes (crm/upsert.py: the email and the mailbox item with RETURNING, the links in one
INSERT). Through `Session.execute` each
cost ~0.2-0.25 ms of CPU inside a request, where the same statement on the DB-API cursor
cost ~0.07 (bench/b1_profile.py; measured on the statement's first run in the request,
the second run of it costs a third of that: a request's cold caches multiply whatever
machinery a statement goes through, here the ORM execution state, the cache key, and
SQLAlchemy's parameter and result set-up).

A `Prepared` keeps SQLAlchemy for what it is for: the statement is Core, compiled by the
dialect (same SQL, same types). It compiles once per dialect, and each run then only
converts the parameters and the row values with the column types' own processors. It runs
in the session's transaction (`session.connection()`), and fires the engine's
before/after_cursor_execute events as SQLAlchemy does, so their listeners (statement
counts, tracing) see it; `context` is None for them.

Only statements whose SQL is fixed (no expanding IN: pass a list as one JSON or array
parameter). A DB-API error is raised as SQLAlchemy's (IntegrityError, OperationalError...),
and a connection the database dropped is invalidated, as SQLAlchemy would.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable


class _Plan:
    """One statement compiled for one dialect."""

    __slots__ = ("sql", "positional", "binds", "base", "results", "row")

    def __init__(self, statement: Executable, dialect, columns: Sequence[str] | None):
        compiled = statement.compile(dialect=dialect, column_keys=None if columns is None else list(columns))
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("a prepared statement's SQL must be fixed (no expanding or literal parameters)")
        if getattr(compiled, "escaped_bind_names", None):
            raise ValueError("a prepared statement's parameter names must need no escaping")
        self.sql: str = compiled.string
        self.positional: bool = compiled.positional
        processors = compiled._bind_processors
        names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        self.binds: list[tuple[str, Callable | None]] = [(name, processors.get(name)) for name in names]
        # The statement's own values (constants compared with), under the callers' ones.
        self.base: dict[str, Any] = compiled.construct_params(_check=False)
        columns_out = compiled._result_columns or []
        processed = [column.type._cached_result_processor(dialect, None) for column in columns_out]
        self.results: list[Callable | None] | None = processed if any(processed) else None
        self.row = namedtuple("Row", [column.keyname for column in columns_out], rename=True)

    def parameters(self, params: Mapping[str, Any]):
        values = {**self.base, **params}
        if self.positional:
            return [values[name] if process is None else process(values[name]) for name, process in self.binds]
        return {name: values[name] if process is None else process(values[name]) for name, process in self.binds}


class Prepared:
    """A Core statement to run many times; see the module docstring. `columns`: for an
    INSERT, the columns its parameters give (as `Connection.execute` would take them from
    the first parameter set)."""

    def __init__(self, statement: Executable, columns: Sequence[str] | None = None):
        self.statement = statement
        self.columns = None if columns is None else tuple(columns)
        self._plans: dict[tuple, _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, dialect) -> _Plan:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        plan = self._plans.get(key)
        if plan is None:
            plan = _Plan(self.statement, dialect, self.columns)
            with self._lock:
                plan = self._plans.setdefault(key, plan)
        return plan

    def rows(self, db: Session | Connection, params: Mapping[str, Any]) -> list:
        """Every row the statement answers (a SELECT, or a write with RETURNING), as named
        tuples, run in the transaction of `db` (a session, or the session's connection)."""
        connection = db if isinstance(db, Connection) else db.connection()
        plan = self._plan(connection.dialect)
        fetched = _execute(connection, plan.sql, plan.parameters(params), fetch=True)
        make, results = plan.row._make, plan.results
        if results is None:
            return [make(row) for row in fetched]
        return [
            make([value if process is None else process(value) for process, value in zip(results, row)])
            for row in fetched
        ]

    def first(self, db: Session | Connection, params: Mapping[str, Any]):
        """The first row, or None."""
        rows = self.rows(db, params)
        return rows[0] if rows else None

    def run(self, db: Session | Connection, params: Mapping[str, Any]) -> None:
        """A write that answers no rows."""
        connection = db if isinstance(db, Connection) else db.connection()
        plan = self._plan(connection.dialect)
        _execute(connection, plan.sql, plan.parameters(params), fetch=False)


def _execute(connection: Connection, statement: str, parameters, fetch: bool) -> list:
    """The statement on the connection's DB-API cursor, between the engine's cursor events;
    a DB-API error is raised as SQLAlchemy's (a dropped connection invalidated first)."""
    dialect = connection.dialect
    dbapi = connection.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        dispatch = connection.dispatch
        for listen in dispatch.before_cursor_execute:
            statement, parameters = listen(connection, cursor, statement, parameters, None, False)
        cursor.execute(statement, parameters)
        for listen in dispatch.after_cursor_execute:
            listen(connection, cursor, statement, parameters, None, False)
        return cursor.fetchall() if fetch else []
    except dialect.loaded_dbapi.Error as error:
        dropped = dialect.is_disconnect(error, dbapi, cursor)
        if dropped:
            connection.invalidate(error)
        raise DBAPIError.instance(
            statement, parameters, error, dialect.loaded_dbapi.Error, connection_invalidated=dropped, dialect=dialect
        ) from error
    finally:
        cursor.close()
