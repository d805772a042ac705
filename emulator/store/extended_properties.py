"""Single-value extended property ids, normalised the way Exchange echoes them back."""

from __future__ import annotations

import re
import uuid

from emulator.store.errors import StoreError


def canonical_property_id(prop_id: str) -> str:
    """Normalise an extended property id the way Exchange echoes it back.

    Raises StoreError(400) when the id has none of the documented forms:
    "{type} {guid} Name {name}", "{type} {guid} Id {0xhex}", "{type} {0xhex}".
    """
    text = " ".join((prop_id or "").split())
    m = re.fullmatch(r"(\w+) \{([0-9a-fA-F-]{36})\} (Name|Id) (.+)", text)
    if m:
        kind, guid, form, name = m.groups()
        try:
            guid = str(uuid.UUID(guid))
        except ValueError:
            m = None
        else:
            return f"{kind} {{{guid}}} {form} {name}"
    m2 = re.fullmatch(r"(\w+) (0x[0-9a-fA-F]{1,8})", text)
    if m2:
        return f"{m2.group(1)} {m2.group(2).lower()}"
    raise StoreError(400, "ErrorInvalidProperty", f"The extended property id '{prop_id}' is not valid.")


def set_properties(ext_props: dict[str, dict], props: list[dict], as_text: bool = False) -> None:
    """Merge Graph's singleValueExtendedProperties into an item's, keyed by lower-case id.

    `as_text` stores values as strings, as fixtures and new items do; updates keep the value given.
    Raises StoreError(400) for a malformed id.
    """
    for p in props:
        pid = canonical_property_id(p["id"])
        ext_props[pid.lower()] = {"id": pid, "value": str(p.get("value", "")) if as_text else p["value"]}
