"""$orderby: parsing the sort keys and a stable multi-key sort that puts missing values last."""

from __future__ import annotations

from emulator.odata.errors import ODataError
from emulator.odata.filter_parser import as_datetime


def parse_orderby(text: str | None, entity: str, known: dict[str, str]) -> list[tuple[str, bool]]:
    """[(property, descending)] from $orderby; raises ODataError."""
    if text is None:
        return []
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ODataError(f"Syntax error at '{part.strip()}' in $orderby.")
        canonical = known.get(words[0].lower())
        if canonical is None:
            raise ODataError(
                f"Could not find a property named '{words[0]}' on type 'microsoft.graph.{entity}'.",
                "RequestBroker--ParseUri",
            )
        out.append((canonical, len(words) == 2 and words[1].lower() == "desc"))
    return out


def sort_items(items: list, orderby: list[tuple[str, bool]], key_of) -> list:
    """Stable multi-key sort; `key_of(item, prop)` gives the value to compare."""
    for prop, desc in reversed(orderby):
        present = [i for i in items if key_of(i, prop) is not None]
        missing = [i for i in items if key_of(i, prop) is None]
        present.sort(key=lambda i: _sort_key(key_of(i, prop)), reverse=desc)
        items = present + missing
    return items


def _sort_key(value):
    if isinstance(value, str):
        dt = as_datetime(value)
        return (0, dt.timestamp(), "") if dt else (1, 0, value.casefold())
    if isinstance(value, bool):
        return (0, int(value), "")
    if isinstance(value, (int, float)):
        return (0, value, "")
    return (2, 0, str(value))
