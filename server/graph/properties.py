"""What the backend stores in Outlook: extended property ids and category names.

The property-set GUID is fixed for the life of the product: changing it would orphan
every mark already written to users' mailboxes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

PROPERTY_SET = "5e2c4be5-cc15-4e13-889c-459e6c8f73b4"


def _string_property(name: str) -> str:
    return f"String {{{PROPERTY_SET}}} Name {name}"


SYNC_STATE = _string_property("CrmSyncState")  # "synced" | "excluded" | "pending"
EMAIL_ID = _string_property("CrmEmailId")
CONTACT_ID = _string_property("CrmContactId")

SYNC_STATES = ("synced", "excluded", "pending")

# An Outlook add-in's custom properties (Office.js `loadCustomPropertiesAsync` /
# `saveAsync`) are stored in one named property of Outlook's PS_PUBLIC_STRINGS set,
# `cecp-<the add-in's manifest Id>`, whose value is a JSON object of them.
CUSTOM_PROPERTIES_SET = "00020329-0000-0000-C000-000000000046"


def custom_properties_id(addin_id: str) -> str:
    """The extended property id of the add-in's custom properties."""
    return f"String {{{CUSTOM_PROPERTIES_SET}}} Name cecp-{addin_id}"


def custom_properties(item: dict, property_id: str | None) -> dict:
    """The add-in's custom properties on a Graph item ({} when absent or not a JSON object)."""
    if not property_id:
        return {}
    raw = property_value(item, property_id)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


CATEGORY_SYNC = "Sync to CRM"
CATEGORY_SYNCED = "Synced to CRM"
CATEGORY_DONT_SYNC = "Don't sync to CRM"

# Outlook's preset colours: preset7 Blue, preset4 Green, preset12 Gray.
CATEGORY_COLORS = {
    CATEGORY_SYNC: "preset7",
    CATEGORY_SYNCED: "preset4",
    CATEGORY_DONT_SYNC: "preset12",
}
OUR_CATEGORIES = tuple(CATEGORY_COLORS)


def merge_categories(current: Iterable[str] | None, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
    """The categories a message should have: `current` (the user's own kept, in order)
    minus `remove`, plus `add` when missing. Names compare case-insensitively, as
    Outlook does. A PATCH replaces the whole list, so callers send this result."""
    add = list(add)
    removed = {name.casefold() for name in remove} - {name.casefold() for name in add}
    result: list[str] = []
    seen: set[str] = set()
    for name in list(current or []) + add:
        key = name.casefold()
        if key in seen or key in removed:
            continue
        seen.add(key)
        result.append(name)
    return result


def property_value(item: dict, property_id: str) -> str | None:
    """The value of one single-value extended property in a Graph item, or None."""
    wanted = property_id.casefold()
    for prop in item.get("singleValueExtendedProperties") or ():
        if str(prop.get("id", "")).casefold() == wanted:
            return prop.get("value")
    return None


def expand_filter(*property_ids: str) -> str:
    """`$expand` value that returns exactly these extended properties."""
    clauses = " or ".join(f"id eq '{pid}'" for pid in property_ids)
    return f"singleValueExtendedProperties($filter={clauses})"


def extended_properties(properties: Mapping[str, str | None]) -> list[dict]:
    """{property id: value} as Graph's `singleValueExtendedProperties` list."""
    # Graph cannot null a single-value property with PATCH; an empty string clears it.
    return [{"id": pid, "value": "" if value is None else str(value)} for pid, value in properties.items()]
