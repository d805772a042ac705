"""The OData query options Graph's Outlook endpoints accept, parsed and applied to JSON.

Covers $select, $top, $skip, $count, $orderby, $expand (with nested $filter and
$select) and a $filter subset: eq/ne/gt/ge/lt/le, and/or/not, parentheses,
startswith/endswith/contains, and any()/all() lambdas over collections
(emailAddresses, categories, recipients, singleValueExtendedProperties).
String comparisons are case-insensitive, as Exchange's are. Anything else is
an `ODataError`, which the Graph views answer with 400 and Graph's error body.

The views use this package as one module (`odata.parse_filter`, ...); each option
is parsed in its own submodule.
"""

from __future__ import annotations

from emulator.odata.errors import ODataError
from emulator.odata.expand import Expand, parse_expand
from emulator.odata.filter_parser import Filter, parse_filter
from emulator.odata.options import (
    apply_select,
    check_options,
    option,
    parse_bool,
    parse_int,
    parse_select,
)
from emulator.odata.ordering import parse_orderby, sort_items

__all__ = [
    "Expand",
    "Filter",
    "ODataError",
    "apply_select",
    "check_options",
    "option",
    "parse_bool",
    "parse_expand",
    "parse_filter",
    "parse_int",
    "parse_orderby",
    "parse_select",
    "sort_items",
]
