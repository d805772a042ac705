"""The planned dump (server/schema_dump.py) gives exactly what marshmallow's Schema.dump
gives, for every response schema of the API and over every path it takes: values of
the field's own type, None, values of another type, absent keys, extra keys, fields it
leaves to marshmallow (dates, raw), non-dict objects and lists (many)."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from types import SimpleNamespace

import marshmallow as ma
import pytest

import server.routes.schemas as schemas_package
from server import api
from server.schema_dump import planned_dump


def response_schemas() -> list[type[ma.Schema]]:
    modules = [api] + [
        importlib.import_module(f"{schemas_package.__name__}.{m.name}")
        for m in pkgutil.iter_modules(schemas_package.__path__)
    ]
    found = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, ma.Schema) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__name__}"] = value
    return [found[name] for name in sorted(found)]


# Per variant, a value for a field of each kind: its own type, None, and the wrong type
# (which the field converts or refuses the same way in both).
SAMPLES = {
    "own": {
        ma.fields.String: "text é",
        ma.fields.Integer: 42,
        ma.fields.Boolean: True,
        ma.fields.Float: 1.5,
        ma.fields.DateTime: dt.datetime(2026, 12, 5, 10, 42, tzinfo=dt.UTC),
        ma.fields.AwareDateTime: dt.datetime(2026, 12, 5, 10, 42, tzinfo=dt.UTC),
        ma.fields.Date: dt.date(2026, 12, 5),
        ma.fields.Dict: {"a": 1},
        ma.fields.Raw: {"any": [1, "two"]},
    },
    "other": {
        ma.fields.String: 7,
        ma.fields.Integer: "42",
        ma.fields.Boolean: 1,
        ma.fields.Float: 2,
        ma.fields.DateTime: "2026-12-05T10:42:00Z",
        ma.fields.AwareDateTime: "2026-12-05T10:42:00+00:00",
        ma.fields.Date: "2026-12-05",
        ma.fields.Dict: {},
        ma.fields.Raw: None,
    },
}


def sample(field: ma.fields.Field, variant: str, depth: int = 0):
    if variant == "none":
        return None
    if isinstance(field, ma.fields.Nested):
        return payload(field.schema, variant, depth + 1) if depth < 4 else None
    if isinstance(field, ma.fields.List):
        return [sample(field.inner, variant, depth), sample(field.inner, "own", depth)]
    for kind in type(field).__mro__:
        if kind in SAMPLES[variant]:
            return SAMPLES[variant][kind]
    return "unplanned"


def payload(schema: ma.Schema, variant: str, depth: int = 0):
    data = {"not_in_schema": "dropped"}
    for index, (name, field) in enumerate(schema.dump_fields.items()):
        if variant == "sparse" and index % 2:
            continue  # absent: skipped, or the field's dump default
        data[field.attribute or name] = sample(field, "own" if variant == "sparse" else variant, depth)
    if schema.many:
        return [data, dict(data)]
    return data


@pytest.mark.parametrize("schema_class", response_schemas(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("variant", ["own", "other", "none", "sparse"])
def test_planned_dump_equals_marshmallow(schema_class, variant):
    reference = schema_class()
    planned = planned_dump(schema_class())
    data = payload(reference, variant)
    try:
        expected = reference.dump(data)
    except (TypeError, ValueError, AttributeError) as error:
        # A value marshmallow refuses is refused by the plan too, the same way.
        with pytest.raises(type(error)):
            planned(data)
        return
    assert planned(data) == expected
    assert planned([data, data], many=True) == reference.dump([data, data], many=True)
    # Not a dict: marshmallow's own attribute access.
    assert planned(SimpleNamespace(**data)) == reference.dump(SimpleNamespace(**data))


def test_covers_the_pane_message_schema():
    """The schemas the pane's open and sync answer with are among those checked."""
    names = {c.__name__ for c in response_schemas()}
    assert {"MessageSchema", "PersonSchema", "ContactSchema", "BatchSyncResultSchema"} <= names


def test_keeps_hooks_and_key_renames():
    class Renamed(ma.Schema):
        shown = ma.fields.String(data_key="shownAs", attribute="stored")
        count = ma.fields.Integer(dump_default=3)

    class Hooked(ma.Schema):
        name = ma.fields.String()

        @ma.post_dump
        def shout(self, data, **_):
            return {"name": data["name"].upper()}

    assert planned_dump(Renamed())({"stored": "x"}) == Renamed().dump({"stored": "x"}) == {"shownAs": "x", "count": 3}
    assert planned_dump(Hooked())({"name": "a"}) == {"name": "A"}


def test_the_api_answers_through_the_plan(app):
    """Every response schema a view declares dumps through its plan (the OpenAPI
    document still names the same schema classes)."""
    checked = 0
    for view in app.view_functions.values():
        doc = getattr(view, "_apidoc", {})
        responses = doc.get("response", {}).get("responses", {})
        for status in doc.get("success_status_codes", ()):  # the others only document errors
            for response in responses.get(status, ()):
                schema = response.get("schema")
                if isinstance(schema, ma.Schema):
                    assert schema.dump.__qualname__ == "planned_dump.<locals>.dump", view
                    checked += 1
    assert checked > 20
