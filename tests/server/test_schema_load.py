"""The planned query load (server/schema_load.py) answers exactly what webargs' parse
answers, for every query argument schema of the API that has a plan, over generated
queries: absent keys, empty values, repeated keys, unknown keys, delimiters, lengths at
and past each limit, text the database refuses. Where webargs refuses (400), the plan
has no answer and webargs is asked."""

from __future__ import annotations

import marshmallow as ma
import pytest
from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from server.api import ApiParser
from server.errors import ApiError
from server.routes.schemas.messages import OpenArgsSchema
from server.schema_load import planned_query_load
from tests.server.test_schema_dump import response_schemas

app = Flask(__name__)
parser = ApiParser()


def query_schemas() -> list[ma.Schema]:
    """Every argument schema of the API whose load has a plan (response schemas live in
    the same modules: those are left out by having none, or load the same way)."""
    return [schema() for schema in response_schemas() if planned_query_load(schema()) is not None]


def webargs_parse(schema: ma.Schema):
    try:
        return FlaskParser.parse(parser, schema, request, location="query")
    except (HTTPException, ApiError) as refused:
        return refused


def test_the_opens_people_argument_has_a_plan():
    # The pane's open sends ?people= on every call.
    assert planned_query_load(OpenArgsSchema()) is not None


def test_schemas_with_hooks_or_other_fields_have_none():
    class Hooked(ma.Schema):
        q = ma.fields.String()

        @ma.post_load
        def done(self, data, **kwargs):
            return data

    class Number(ma.Schema):
        n = ma.fields.Integer()

    class Pattern(ma.Schema):
        q = ma.fields.String(validate=ma.validate.Regexp("^a"))

    assert [planned_query_load(schema()) for schema in (Hooked, Number, Pattern)] == [None, None, None]


ITEM = st.one_of(
    st.text(alphabet="ab@.é,\x00 ", max_size=12),
    st.integers(min_value=318, max_value=322).map(lambda n: "x" * n),
)
VALUE = st.one_of(
    st.lists(ITEM, max_size=6).map(",".join),
    st.integers(min_value=498, max_value=502).map(lambda n: ",".join(["a@b.c"] * n)),
    st.just(""),
)


@pytest.mark.parametrize("schema", query_schemas(), ids=lambda schema: type(schema).__name__)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_plan_answers_what_webargs_answers(schema, data):
    keys = [field.data_key or name for name, field in schema.load_fields.items()] + ["other"]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(keys), VALUE), max_size=4))
    with app.test_request_context("/", query_string=pairs):
        expected = webargs_parse(schema)
        try:
            answered = parser.parse(schema, request, location="query")
        except (HTTPException, ApiError) as error:
            answered = error
        if isinstance(expected, Exception):
            assert type(answered) is type(expected) and str(answered) == str(expected)
        else:
            assert answered == expected
            planned = planned_query_load(schema)(request.args)
            assert planned is None or planned == expected
