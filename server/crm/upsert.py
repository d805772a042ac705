"""Race-safe inserts: INSERT .. ON CONFLICT, on SQLite and PostgreSQL.

Concurrent writers of the same natural key (two workers filing one message,
two requests creating one user) never raise IntegrityError: the loser's insert
does nothing and it reads the winner's row.

Each statement is built once per dialect, table and conflict (and update) columns and
then executed with the row's values as parameters: building it again for every row was
a good part of filing's CPU (bench/b1_profile.py), SQLAlchemy's compiled-statement
cache only saving the compilation. Filing's own writes go further (`written_row`,
`insert_ignore_rows`): prepared statements (crm/prepared.py), several rows in one
multi-row INSERT.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Table, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from server.crm.prepared import Prepared

_statements: dict[tuple, Any] = {}

# Rows of one multi-row INSERT: its parameters stay far below SQLite's and PostgreSQL's
# limits (32,766 and 65,535), and statements of at most this many rows are cached.
ROWS_PER_INSERT = 100
_statements_lock = threading.Lock()


def _insert_for(dialect: str, table: Table):
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no ON CONFLICT support for {dialect}")


def _statement(
    session: Session | Connection,
    table: Table,
    conflict: Sequence[str],
    update: Sequence[str] | None,
    returning: bool = False,
):
    """INSERT .. ON CONFLICT (conflict) DO NOTHING (`update` None) or DO UPDATE SET the
    `update` columns to the new values; the values come as parameters when executed.
    `returning`: the statement yields the row's primary key and the columns it did not
    write (`_returned`), so the row as written is known without a read after the write."""
    dialect = session.dialect.name if isinstance(session, Connection) else session.get_bind().dialect.name
    key = (dialect, table, tuple(conflict), None if update is None else tuple(update), returning)
    stmt = _statements.get(key)
    if stmt is None:
        stmt = _insert_for(dialect, table)
        if update is None:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
        else:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(conflict), set_={name: stmt.excluded[name] for name in update}
            )
        if returning:
            if any(c.server_default is not None or c.computed is not None for c in table.columns):
                raise NotImplementedError(f"{table.name}: a row written with defaults of the database's")
            stmt = stmt.returning(*_returned(table, conflict, update))
        with _statements_lock:
            stmt = _statements.setdefault(key, stmt)
    return stmt


def _returned(table: Table, conflict: Sequence[str], update: Sequence[str] | None) -> list:
    """What a written row's RETURNING gives: its primary key, and for an upsert the
    columns it leaves as the stored row had them (neither its conflict key, equal by
    definition, nor updated). An insert that inserted wrote every other column."""
    kept = [] if update is None else [c for c in table.columns if c.key not in conflict and c.key not in update]
    return [*table.primary_key.columns, *(c for c in kept if not c.primary_key)]


def insert_ignore(session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str]) -> bool:
    """INSERT .. ON CONFLICT (conflict) DO NOTHING. Returns True if a row was inserted.

    Python-side column defaults are applied here, since a Core insert on the
    table would skip them.
    """
    table: Table = model.__table__
    result = session.execute(_statement(session, table, conflict, None), _with_defaults(table, values))
    return bool(result.rowcount)


def insert_ignore_returning(session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str]) -> Any:
    """insert_ignore that returns the inserted row as a `model` object (persistent in the
    session), or None when the row existed already."""
    table: Table = model.__table__
    params = _with_defaults(table, values)
    row = session.execute(_statement(session, table, conflict, None, returning=True), params).first()
    return None if row is None else _as_loaded(session, model, params, row, _returned(table, conflict, None))


def insert_ignore_rows(
    connection: Connection, model: Any, shared: dict[str, Any], rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> None:
    """insert_ignore for several rows: multi-row INSERT .. VALUES (..), (..) ON CONFLICT
    DO NOTHING, run on `connection` (the session's, in its transaction), ROWS_PER_INSERT
    rows a statement. The `shared` values are one parameter each, whatever the number of
    rows; every row must have the same keys. How many were new is not reported.

    An executemany processes every parameter of every row, and SQLAlchemy sets it up
    row by row: about half its CPU. The statement is built once per number of rows (and
    SQLAlchemy compiles it once)."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        _insert_ignore_rows(connection, model, shared, rows[start : start + ROWS_PER_INSERT], conflict)


def _insert_ignore_rows(
    connection: Connection, model: Any, shared: dict[str, Any], rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> None:
    table: Table = model.__table__
    row_keys = tuple(rows[0])
    if any(tuple(values) != row_keys for values in rows):
        raise ValueError("every row must have the same keys")
    if any(column.default is not None for column in _unwritten(table, (*shared, *row_keys))):
        rows = [
            {key: value for key, value in _with_defaults(table, {**shared, **values}).items() if key not in shared}
            for values in rows
        ]
        row_keys = tuple(rows[0])
    dialect = connection.dialect
    key = (dialect.name, table, tuple(conflict), tuple(shared), row_keys, len(rows))
    plan = _statements.get(key)
    if plan is None:
        plan = Prepared(_rows_statement(dialect, table, conflict, tuple(shared), row_keys, len(rows)))
        with _statements_lock:
            plan = _statements.setdefault(key, plan)
    params = {f"{name}_all": value for name, value in shared.items()}
    for i, values in enumerate(rows):
        for name, value in values.items():
            params[f"{name}_{i}"] = value
    plan.run(connection, params)


def _unwritten(table: Table, keys: Sequence[str]) -> list:
    return [column for column in table.columns if column.key not in keys and not column.primary_key]


def _rows_statement(
    dialect: Dialect, table: Table, conflict: Sequence[str], shared: Sequence[str], row_keys: Sequence[str], count: int
) -> TextClause:
    """The INSERT of `count` rows as SQL text (the same on SQLite and PostgreSQL), each
    parameter typed as its column; a `shared` value is one parameter
    (`<key>_all`) bound in every row."""
    quote = dialect.identifier_preparer.quote
    by_key = {column.key: column for column in table.columns}
    unknown = [key for key in (*shared, *row_keys) if key not in by_key]
    if unknown or len(set(shared) | set(row_keys)) != len(shared) + len(row_keys):
        raise ValueError(f"{table.name}: unknown or repeated columns {unknown}")
    columns = [column for column in table.columns if column.key in shared or column.key in row_keys]
    rows = (
        "(" + ", ".join(f":{c.key}_all" if c.key in shared else f":{c.key}_{i}" for c in columns) + ")"
        for i in range(count)
    )
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({', '.join(quote(c.name) for c in columns)})"
        f" VALUES {', '.join(rows)} ON CONFLICT ({', '.join(quote(by_key[k].name) for k in conflict)}) DO NOTHING"
    )
    typed = [bindparam(f"{k}_all", type_=by_key[k].type) for k in shared]
    typed += [bindparam(f"{k}_{i}", type_=by_key[k].type) for i in range(count) for k in row_keys]
    return text(sql).bindparams(*typed)


def written_row(
    connection: Connection,
    model: Any,
    values: dict[str, Any],
    conflict: Sequence[str],
    update: Sequence[str] | None = None,
) -> tuple[dict[str, Any], Any]:
    """The statement of insert_ignore_returning (`update` None) or upsert_returning, run
    on `connection` (the session's, in its transaction), with no object built: the values
    as written (with the Python-side defaults) and the row it returned (its primary key
    and the columns it kept; None when an insert was ignored). See `refresh_held`."""
    table: Table = model.__table__
    params = _with_defaults(table, values)
    return params, _prepared(connection, table, conflict, update, tuple(params)).first(connection, params)


def _prepared(
    connection: Connection, table: Table, conflict: Sequence[str], update: Sequence[str] | None, keys: tuple
) -> Prepared:
    """`_statement`'s INSERT .. RETURNING as a prepared statement (crm/prepared.py) for
    parameters with these keys: a sync runs its two such writes on every filing."""
    key = ("prepared", connection.dialect.name, table, tuple(conflict), None if update is None else tuple(update), keys)
    prepared = _statements.get(key)
    if prepared is None:
        prepared = Prepared(_statement(connection, table, conflict, update, returning=True), columns=keys)
        with _statements_lock:
            prepared = _statements.setdefault(key, prepared)
    return prepared


def refresh_held(
    session: Session,
    model: Any,
    params: dict[str, Any],
    row: Any,
    conflict: Sequence[str],
    update: Sequence[str] | None,
) -> None:
    """After `written_row`: an object of that row the session holds gets the values
    written, as upsert_returning would refresh it (so no stale object stays in the
    session); when none is held, nothing is built or added."""
    if not session.identity_map:
        return  # nothing held (a pane request's session holds no entity)
    table: Table = model.__table__
    returned = _returned(table, conflict, update)
    # The primary key comes first in what the statement returns.
    identity = session.identity_key(model, tuple(row[: len(table.primary_key.columns)]))
    existing = session.identity_map.get(identity)
    if existing is not None:
        for key, value in _loaded_values(table, params, row, returned).items():
            set_committed_value(existing, key, value)


def upsert(
    session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str], update: Sequence[str]
) -> None:
    """INSERT .. ON CONFLICT (conflict) DO UPDATE SET the `update` columns to the new values."""
    table: Table = model.__table__
    session.execute(_statement(session, table, conflict, update), _with_defaults(table, values))


def upsert_returning(
    session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str], update: Sequence[str]
) -> Any:
    """upsert that returns the row as written, as a `model` object (persistent in the
    session; an object of that row already there is refreshed)."""
    table: Table = model.__table__
    params = _with_defaults(table, values)
    row = session.execute(_statement(session, table, conflict, update, returning=True), params).one()
    return _as_loaded(session, model, params, row, _returned(table, conflict, update))


def _as_loaded(session: Session, model: Any, params: dict[str, Any], row: Any, returned: list) -> Any:
    """The `model` object of the row just written, as if loaded: the values written, with
    the primary key and kept columns the statement returned. Building it from what we
    hold skips the ORM's loading of a RETURNING row (about a fifth of the CPU of filing's
    email and item writes). Only for tables whose every other column is written by the
    statement (no server default, no computed column): `_with_defaults` applies the
    Python-side ones."""
    table: Table = model.__table__
    values = _loaded_values(table, params, row, returned)
    identity = session.identity_key(model, tuple(values[column.key] for column in table.primary_key))
    existing = session.identity_map.get(identity)
    if existing is not None:
        for key, value in values.items():
            set_committed_value(existing, key, value)
        return existing
    obj = model(**values)
    make_transient_to_detached(obj)  # persistent with this identity once added, no INSERT
    session.add(obj)
    return obj


def _loaded_values(table: Table, params: dict[str, Any], row: Any, returned: list) -> dict[str, Any]:
    """The row's columns as a read gives them: the values written, then what was returned."""
    values = {column.key: _as_read(params[column.key]) for column in table.columns if column.key in params}
    values.update({column.key: value for column, value in zip(returned, row)})
    return values


def _as_read(value: Any) -> Any:
    """A written value as the database gives it back (datetimes in UTC)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


class _RowContext:
    """What a context-sensitive column default reads (a folded key reads its name):
    the row's values, as SQLAlchemy's execution context would give them."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict[str, Any]:
        return self._values


def _with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    full = dict(values)
    for column in table.columns:
        if column.key in full or column.primary_key or column.default is None:
            continue
        default = column.default
        if default.is_scalar:
            full[column.key] = default.arg
        elif default.is_callable:
            full[column.key] = default.arg(_RowContext(full))
    return full
