"""$expand: splitting the items and their nested $filter and $select."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.odata.errors import ODataError


@dataclass
class Expand:
    name: str
    filter: str | None = None
    select: str | None = None


def parse_expand(text: str | None) -> list[Expand]:
    """Split $expand into items with their nested options; raises ODataError."""
    if text is None:
        return []
    items, depth, start = [], 0, 0
    parts = []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ODataError("Syntax error: unbalanced parentheses in $expand.")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ODataError("Syntax error: unbalanced parentheses in $expand.")
    parts.append(text[start:])
    for part in parts:
        part = part.strip()
        m = re.fullmatch(r"([A-Za-z_][\w]*)\s*(?:\((.*)\))?", part, re.S)
        if not m:
            raise ODataError(f"Syntax error at '{part}' in $expand.")
        item = Expand(m.group(1))
        for opt in _split_options(m.group(2) or ""):
            key, _, value = opt.partition("=")
            key = key.strip().lower()
            if key == "$filter":
                item.filter = value
            elif key == "$select":
                item.select = value
            else:
                raise ODataError(f"Query option '{key}' is not supported inside $expand.")
        items.append(item)
    return items


def _split_options(text: str) -> list[str]:
    out, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and ch == ";" and depth == 0:
            out.append(text[start:i])
            start = i + 1
    tail = text[start:]
    if tail.strip():
        out.append(tail)
    return [o for o in (x.strip() for x in out) if o]
