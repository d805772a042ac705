"""Reading the system query options: which are allowed, $select, $top, $skip, $count."""

from __future__ import annotations

import re

from emulator.odata.errors import ODataError

KNOWN_OPTIONS = {
    "$select",
    "$top",
    "$skip",
    "$skiptoken",
    "$filter",
    "$orderby",
    "$expand",
    "$count",
    "$search",
    "$deltatoken",
    "$format",
}


def check_options(args, allowed: set[str]) -> None:
    """Reject unknown or unsupported system query options ($...)."""
    for name in args.keys():
        if not name.startswith("$"):
            continue
        lower = name.lower()
        if lower not in KNOWN_OPTIONS:
            raise ODataError(f"Query option '{name}' is not supported.", "BadRequest")
        if lower not in allowed:
            raise ODataError(
                f"The query parameter '{name}' is not supported with this request.", "ErrorInvalidUrlQuery"
            )


def option(args, name: str) -> str | None:
    """A query option by name, case-insensitively ($Top and $top are the same)."""
    for key in args.keys():
        if key.lower() == name:
            return args.get(key)
    return None


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_select(text: str | None, entity: str, known: dict[str, str]) -> list[str] | None:
    """Property names in $select, spelled as Graph spells them; None when absent.

    `known` maps lower-case property names to their canonical spelling.
    """
    if text is None:
        return None
    names = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            raise ODataError("Syntax error: character ',' is not valid in $select.")
        if name == "*":
            return None
        if not _IDENT.match(name):
            raise ODataError(f"Syntax error at '{name}' in $select.")
        canonical = known.get(name.lower())
        if canonical is None:
            raise ODataError(
                f"Could not find a property named '{name}' on type 'microsoft.graph.{entity}'.",
                "RequestBroker--ParseUri",
            )
        if canonical not in names:
            names.append(canonical)
    return names


def apply_select(obj: dict, select: list[str] | None, always=("@odata.etag", "@odata.type", "id")) -> dict:
    if select is None:
        return obj
    keep = set(select) | set(always)
    return {k: v for k, v in obj.items() if k in keep}


def parse_int(text: str | None, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    if text is None:
        return default
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise ODataError(
            f"Invalid value '{text}' for {name} query option found. "
            f"The {name} query option requires a non-negative integer value."
        )
    value = int(text)
    if value < minimum:
        raise ODataError(f"Invalid value '{text}' for {name} query option.")
    return value


def parse_bool(text: str | None, name: str) -> bool:
    if text is None:
        return False
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise ODataError(f"Invalid value '{text}' for {name} query option.")
