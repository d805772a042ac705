"""A response schema's `dump`, planned once per schema instead of walked per call.

marshmallow's `Schema.dump` looks up every field, its accessor, its default and its
formatting on every call, for every nested item: for the pane's message view (a dozen
fields, people with contacts and companies) that is about 0.15 ms of CPU on each open
and sync (bench/b1_profile.py), a tenth of what the view itself costs. The answers are
plain dicts of str, int, bool, None, lists and nested dicts whose values already have
the type their field dumps, so most of that work returns its input unchanged.

`planned_dump(schema)` gives a function with `Schema.dump`'s result for every input:
- a value whose type is exactly the field's own (str for String, int for Integer, bool
  for Boolean) or None is passed as it is, which is what those fields return for it;
- any other value, and every field of another kind (DateTime, Raw, Method, a subclass),
  is dumped by the field itself, as marshmallow would;
- an object that is not a dict, a key that is absent (defaults, attribute access) or
  dotted, and a schema with pre/post-dump hooks go to marshmallow's own `dump`.
tests/server/test_schema_dump.py holds it equal to `Schema.dump` for every response
schema of the API, over the values that take each path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow.schema import POST_DUMP, PRE_DUMP

Dump = Callable[..., Any]
ValueDump = Callable[[Any], Any]

# Fields whose _serialize returns a value of exactly this type unchanged (and None as None).
_UNCHANGED = {ma.fields.String: str, ma.fields.Integer: int, ma.fields.Boolean: bool}


def _value_dump(field: ma.fields.Field) -> ValueDump | None:
    """value -> what `field._serialize` makes of it; None when only the field knows."""
    kind = type(field)
    if kind in _UNCHANGED and not getattr(field, "as_string", False):
        same = _UNCHANGED[kind]
        slow = field._serialize

        def unchanged(value):
            if value is None or type(value) is same:
                return value
            return slow(value, None, None)

        return unchanged
    if kind is ma.fields.Nested:
        planned: list[tuple[Dump, bool]] = []  # on first use: a schema may nest itself

        def nested(value):
            if value is None:
                return None
            if not planned:
                schema = field.schema
                planned.append((planned_dump(schema), bool(schema.many or field.many)))
            dump, many = planned[0]
            return dump(value, many=many)

        return nested
    if kind is ma.fields.List:
        inner = _value_dump(field.inner)
        if inner is None:
            return None
        return lambda value: None if value is None else [inner(each) for each in value]
    return None


def planned_dump(schema: ma.Schema) -> Dump:
    """`schema.dump`, planned once (see the module's docstring)."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        return schema.dump
    slow = schema.dump
    accessor = schema.get_attribute
    plan = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        # A dotted attribute is a path marshmallow's accessor follows: never a plain key.
        value_dump = None if "." in attribute else _value_dump(field)
        plan.append((name, attribute, field.data_key or name, field, value_dump))

    def dump(obj: Any, *, many: bool | None = None) -> Any:
        many = schema.many if many is None else many
        if many:
            return slow(obj, many=True) if obj is None else [dump(each, many=False) for each in obj]
        if type(obj) is not dict:
            return slow(obj, many=False)
        out = {}
        for name, attribute, key, field, value_dump in plan:
            if value_dump is not None and attribute in obj:
                out[key] = value_dump(obj[attribute])
                continue
            value = field.serialize(name, obj, accessor=accessor)
            if value is not ma.missing:
                out[key] = value
        return out

    return dump
