"""Race-safe inserts: INSERT .. ON CONFLICT, on SQLite and PostgreSQL.

Concurrent writers of the same natural key (two workers filing one message,
two requests creating one user) never raise IntegrityError: the loser's insert
does nothing and it reads the winner's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert_for(session: Session, table: Table):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no ON CONFLICT support for {dialect}")


def insert_ignore(session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str]) -> bool:
    """INSERT .. ON CONFLICT (conflict) DO NOTHING. Returns True if a row was inserted.

    Python-side column defaults are applied here, since a Core insert on the
    table would skip them.
    """
    table: Table = model.__table__
    stmt = _insert_for(session, table).values(**_with_defaults(table, values))
    stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    result = session.execute(stmt)
    return bool(result.rowcount)


def upsert(
    session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str], update: Sequence[str]
) -> None:
    """INSERT .. ON CONFLICT (conflict) DO UPDATE SET the `update` columns to the new values."""
    table: Table = model.__table__
    stmt = _insert_for(session, table).values(**_with_defaults(table, values))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict), set_={name: stmt.excluded[name] for name in update}
    )
    session.execute(stmt)


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
