"""Keyset pagination: "the next page starts after this row", never OFFSET, so page
1000 costs what page 1 costs (each list has an index on its sort key).

A cursor is the sort key of the last row shown, as an opaque URL-safe string.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, or_, tuple_

PAGE_SIZE = 25


class BadCursor(ValueError):
    """The `after` parameter is not one of ours."""


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None, kinds: Sequence[type]) -> list[Any] | None:
    """The cursor's values, typed by `kinds` (datetime, int or str); None for no cursor.
    Raises BadCursor."""
    if not raw:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError
        typed: list[Any] = []
        for value, kind in zip(values, kinds):
            if value is None:
                typed.append(None)
            elif kind is datetime:
                typed.append(datetime.fromisoformat(value))
            elif kind is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError
                typed.append(value)
            else:
                typed.append(str(value))
        return typed
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BadCursor(str(exc)) from None


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def after_desc(column, id_column, cursor: list | None, nulls_first: bool):
    """WHERE for the rows after `cursor` = [value, id] in ORDER BY column DESC, id DESC.

    Rows without a value come where the database's index puts them (first on
    PostgreSQL, last on SQLite), so the order is an index scan on both; the row-value
    comparison `(column, id) < (value, id)` is an index range on both too."""
    if cursor is None:
        return None
    value, last_id = cursor
    if value is None:
        after_nulls = and_(column.is_(None), id_column < last_id)
        return or_(after_nulls, column.is_not(None)) if nulls_first else after_nulls
    before = tuple_(column, id_column) < tuple_(value, last_id)
    return before if nulls_first else or_(before, column.is_(None))


def after_asc(column, id_column, cursor: list | None):
    """WHERE for the rows after `cursor` = [value, id] in ORDER BY column, id."""
    if cursor is None:
        return None
    value, last_id = cursor
    return or_(column > value, and_(column == value, id_column > last_id))


def page_of(rows: list, key) -> Page:
    """Rows fetched with limit PAGE_SIZE + 1 -> the page and the cursor of the next one."""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        return Page(rows, encode_cursor(key(rows[-1])))
    return Page(rows, None)
