"""The pane's hot reads, run straight on the session's DB-API connection.

Every pane request runs the same few SELECTs: its caller, the message's item, the match,
the filed email's attachments and the conversation's links. Through `Session.execute` each
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

Reads only, and only statements whose SQL is fixed (no expanding IN: pass a list as one
JSON or array parameter). On a DB-API error the statement runs again through
`session.execute`, whose error handling (wrapping, invalidating a dropped connection)
then applies.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql import Select


class _Plan:
    """One statement compiled for one dialect."""

    __slots__ = ("sql", "positional", "binds", "base", "results", "row")

    def __init__(self, statement: Select, dialect):
        compiled = statement.compile(dialect=dialect)
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
        columns = compiled._result_columns
        processed = [column.type._cached_result_processor(dialect, None) for column in columns]
        self.results: list[Callable | None] | None = processed if any(processed) else None
        self.row = namedtuple("Row", [column.keyname for column in columns], rename=True)

    def parameters(self, params: Mapping[str, Any]):
        values = {**self.base, **params}
        if self.positional:
            return [values[name] if process is None else process(values[name]) for name, process in self.binds]
        return {name: values[name] if process is None else process(values[name]) for name, process in self.binds}


class Prepared:
    """A Core SELECT to run many times; see the module docstring."""

    def __init__(self, statement: Select):
        self.statement = statement
        self._plans: dict[tuple, _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, dialect) -> _Plan:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        plan = self._plans.get(key)
        if plan is None:
            plan = _Plan(self.statement, dialect)
            with self._lock:
                plan = self._plans.setdefault(key, plan)
        return plan

    def rows(self, session: Session, params: Mapping[str, Any]) -> list:
        """Every row, as named tuples."""
        connection = session.connection()
        plan = self._plan(connection.dialect)
        statement, parameters = plan.sql, plan.parameters(params)
        dbapi = connection.connection.dbapi_connection
        try:
            cursor = dbapi.cursor()
            try:
                dispatch = connection.dispatch
                for listen in dispatch.before_cursor_execute:
                    statement, parameters = listen(connection, cursor, statement, parameters, None, False)
                cursor.execute(statement, parameters)
                for listen in dispatch.after_cursor_execute:
                    listen(connection, cursor, statement, parameters, None, False)
                fetched = cursor.fetchall()
            finally:
                cursor.close()
        except connection.dialect.loaded_dbapi.Error:
            return [plan.row(*row) for row in session.execute(self.statement, dict(params))]
        make, results = plan.row._make, plan.results
        if results is None:
            return [make(row) for row in fetched]
        return [
            make([value if process is None else process(value) for process, value in zip(results, row)])
            for row in fetched
        ]

    def first(self, session: Session, params: Mapping[str, Any]):
        """The first row, or None."""
        rows = self.rows(session, params)
        return rows[0] if rows else None
