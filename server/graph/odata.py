"""How Graph's URLs are written and its answers read: query strings, OData literals,
timestamps, JSON bodies and headers."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .errors import GraphError
from .wire import WireResponse


def select_fields(fields) -> str:
    return fields if isinstance(fields, str) else ",".join(fields)


QUERY_SAFE = "$,()'=/:@"


@functools.lru_cache(maxsize=512)
def _quoted(value: str) -> str:
    """`value` percent-encoded for a query. Cached: the same $select and $expand of a
    few hundred characters go with every message and contact read, and quote() walks
    them a character at a time (bench/b1_profile.py)."""
    return quote(value, safe=QUERY_SAFE)


def query_string(params: Mapping[str, Any]) -> str:
    """A query string encoded the way Graph documents it (%20 for spaces, $ kept)."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        parts.append(f"{key}={_quoted(str(value))}")
    return "?" + "&".join(parts) if parts else ""


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def iso_datetime(value) -> str:
    """A date or datetime as Graph's UTC timestamp (naive datetimes are taken as UTC)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"
    return str(value)


def response_json(response: WireResponse) -> Any:
    """The JSON body; raises GraphError 502 when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise GraphError(
            502,
            "InvalidResponse",
            "Graph answered with a body that is not JSON",
            request_id=response.headers.get("request-id"),
        ) from None


def header_value(headers: Mapping | None, name: str):
    """A header's value by case-insensitive name, None when absent."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None
