"""Race-safe inserts: INSERT .. ON CONFLICT, on SQLite and PostgreSQL.

Concurrent writers of the same natural key (two workers filing one message,
two requests creating one user) never raise IntegrityError: the loser's insert
does nothing and it reads the winner's row.

Each statement is built once per dialect, table and conflict (and update) columns and
then executed with the row's values as parameters: building it again for every row was
a good part of filing's CPU (bench/b1_profile.py), SQLAlchemy's compiled-statement
cache only saving the compilation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

_statements: dict[tuple, Any] = {}
_statements_lock = threading.Lock()


def _insert_for(dialect: str, table: Table):
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no ON CONFLICT support for {dialect}")


def _statement(
    session: Session, table: Table, conflict: Sequence[str], update: Sequence[str] | None, returning: bool = False
):
    """INSERT .. ON CONFLICT (conflict) DO NOTHING (`update` None) or DO UPDATE SET the
    `update` columns to the new values; the values come as parameters when executed.
    `returning`: the statement yields the row's primary key and the columns it did not
    write (`_returned`), so the row as written is known without a read after the write."""
    dialect = session.get_bind().dialect.name
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


def insert_ignore_many(session: Session, model: Any, rows: Iterable[dict[str, Any]], conflict: Sequence[str]) -> None:
    """insert_ignore for several rows in one statement execution (executemany). Every
    row must have the same keys. How many were new is not reported (drivers differ)."""
    table: Table = model.__table__
    params = [_with_defaults(table, values) for values in rows]
    if params:
        session.execute(_statement(session, table, conflict, None), params)


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
    values = {column.key: _as_read(params[column.key]) for column in table.columns if column.key in params}
    values.update({column.key: value for column, value in zip(returned, row)})
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
