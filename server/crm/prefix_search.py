"""Prefix search in SQL: "starts with" as a LIKE pattern whose wildcards in the
searched text are escaped, and as an index range the CRM pages scan."""

from __future__ import annotations

from sqlalchemy import and_

# The escape character of every pattern made here (pass it as `escape=`).
LIKE_ESCAPE = "\\"


def like_prefix(text: str) -> str:
    """A LIKE pattern matching what starts with `text`: its %, _ and \\ match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def starts_with(column, text: str):
    """column LIKE 'text%', with the text's wildcards escaped."""
    return column.like(like_prefix(text), escape=LIKE_ESCAPE)


def _successor(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def prefix_of(key, prefix: str):
    """key starts with prefix: an index range scan, plus LIKE so collations whose
    order differs from code points never add a false match."""
    return and_(key >= prefix, key < _successor(prefix), starts_with(key, prefix))
