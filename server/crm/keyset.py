"""Keyset pagination for every CRM list, the REST API's and the pages': "the next
page starts after this row", never OFFSET, so page 1000 costs what page 1 costs
(each list has an index on its sort key).

A cursor is the sort key of the last row shown, as an opaque URL-safe string.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, tuple_
from sqlalchemy.orm import Session

from server.domain_errors import Invalid

# Page sizes of the REST API's lists (`limit`).
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(Invalid):
    """The `after` cursor was not one this CRM handed out."""

    code = "invalid_cursor"

    def __init__(self, message: str = "the cursor is not valid; start again without 'after'"):
        super().__init__(message)


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(raw: str | None, kinds: Sequence[type]) -> list[Any] | None:
    """The cursor's values, typed by `kinds` (datetime, int or str); None for no cursor.
    Only a datetime may be null (a sort column that can be empty, like sent_at).
    Raises InvalidCursor."""
    if not raw:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError
        return [_typed(value, kind) for value, kind in zip(values, kinds)]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor() from None


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime:
        return None if value is None else datetime.fromisoformat(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise ValueError(f"not a {kind.__name__}: {value!r}")


def after_asc(column, id_column, cursor: list | None):
    """WHERE for the rows after `cursor` = [value, id] in ORDER BY column, id."""
    if cursor is None:
        return None
    value, last_id = cursor
    return or_(column > value, and_(column == value, id_column > last_id))


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


def page_of(rows: list, key: Callable[[Any], Sequence[Any]], size: int) -> Page:
    """Rows fetched with limit `size` + 1 -> the page and the cursor of the next one."""
    if len(rows) > size:
        rows = rows[:size]
        return Page(rows, encode_cursor(key(rows[-1])))
    return Page(rows, None)


def ranked_page(session: Session, query, rank_expr, key_expr, id_expr, limit: int | None, after: str | None) -> Page:
    """One page of `query` in (rank, key, id) order, for the REST API's lists (a
    search ranks its matches); `rank_expr` None means unranked (PostgreSQL reads a
    constant in ORDER BY as a column position). Raises InvalidCursor."""
    limit = max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
    cursor = decode_cursor(after, (int, str, int))
    if cursor is not None:
        rank, key, last_id = cursor
        after_key = after_asc(key_expr, id_expr, [key, last_id])
        query = query.where(
            after_key if rank_expr is None else or_(rank_expr > rank, and_(rank_expr == rank, after_key))
        )
    order = [key_expr, id_expr] if rank_expr is None else [rank_expr, key_expr, id_expr]
    columns = [key_expr.label("sort_key")] + ([] if rank_expr is None else [rank_expr.label("rank")])
    rows = session.execute(query.add_columns(*columns).order_by(*order).limit(limit + 1)).all()
    page = page_of(rows, lambda row: (0 if rank_expr is None else int(row.rank), row.sort_key or "", row[0].id), limit)
    return Page([row[0] for row in page.rows], page.next_cursor)
