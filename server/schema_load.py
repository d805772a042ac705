"""A query-string argument schema's load, planned once per schema instead of walked
per request by webargs and marshmallow.

webargs wraps the query in a proxy, then marshmallow looks up every field, its
validators and its default on every request: for the pane's open (`?people=` with a
message's addresses) that is about 0.1 ms of CPU in the served stack
(bench/b1_profile.py). Most query arguments are plain strings or delimited lists of
strings whose only checks are lengths, so most of that work returns its input unchanged.

`planned_query_load(schema)` gives a function of the request's query (a werkzeug
MultiDict) that returns what webargs' parse of the schema from the query returns, or
None when only webargs can say (then the caller parses with webargs, which gives the
result or the validation error it always gave):
- a schema with hooks (pre/post-load, validators) or a field of another kind than those
  below has no plan (None);
- `String` (this class, not a subclass) whose validators are all `Length`: the query's
  first value for its key, as webargs hands a single-valued field;
- webargs' `DelimitedList` of such a String, its own validators all `Length`: the value
  split at the delimiter ("" is an empty list);
- an absent key gives the field's `load_default` (called when callable) or nothing;
- a value that fails a length, or an absent required key: None (webargs answers it).
tests/server/test_schema_load.py holds it equal to webargs' parse for every query
argument schema of the API, over generated queries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from webargs.fields import DelimitedList

QueryLoad = Callable[[Any], dict | None]
INVALID = object()  # a value only webargs can answer for (its validation error)


def _length_check(validators: list) -> Callable[[Any], bool] | None:
    """value -> whether every validator passes; None unless all are `Length`."""
    if any(type(each) is not ma.validate.Length for each in validators):
        return None
    bounds = [(each.min, each.max, each.equal) for each in validators]

    def passes(value) -> bool:
        size = len(value)
        for low, high, equal in bounds:
            if equal is not None:
                if size != equal:
                    return False
            elif (low is not None and size < low) or (high is not None and size > high):
                return False
        return True

    return passes


def _string_step(field: ma.fields.Field) -> Callable[[str], Any] | None:
    if type(field) is not ma.fields.String:
        return None
    passes = _length_check(field.validators)
    if passes is None:
        return None
    return lambda value: value if passes(value) else INVALID


def _field_step(field: ma.fields.Field) -> Callable[[str], Any] | None:
    """The query's value (a str) -> the loaded value, or INVALID; None: no plan."""
    if type(field) is DelimitedList:
        inner = _string_step(field.inner)
        passes = _length_check(field.validators)
        if inner is None or passes is None or field.empty_value != "":
            return None
        delimiter = field.delimiter

        def delimited(value: str):
            items = [inner(each) for each in value.split(delimiter)] if value else []
            if INVALID in items or not passes(items):
                return INVALID
            return items

        return delimited
    return _string_step(field)


def planned_query_load(schema: ma.Schema) -> QueryLoad | None:
    """webargs' parse of `schema` from the query, planned (see the module's docstring);
    None when the schema has no plan."""
    hooks = schema._hooks
    if hooks[PRE_LOAD] or hooks[POST_LOAD] or hooks[VALIDATES] or hooks[VALIDATES_SCHEMA]:
        return None
    plan = []
    for name, field in schema.load_fields.items():
        step = _field_step(field)
        if step is None:
            return None
        plan.append((name, field.data_key or name, field.required, field.load_default, step))

    def load(query) -> dict | None:
        loaded = {}
        for name, key, required, default, step in plan:
            value = query.get(key)
            if value is None:
                if required:
                    return None
                if default is not ma.missing:
                    loaded[name] = default() if callable(default) else default
                continue
            value = step(value)
            if value is INVALID:
                return None
            loaded[name] = value
        return loaded

    return load
