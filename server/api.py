"""The flask-smorest Api (OpenAPI 3.0.3 at /api/v1/openapi.json) and the
Blueprint class route modules use.

`server.api.Blueprint` differs from flask-smorest's in four ways: validation
errors are 400 (documented with our error schema), not 422; argument schemas are
instantiated once, not per request; query arguments load through a plan made once per
schema (server/schema_load.py) and response schemas dump through one
(server/schema_dump.py), both equal in result.
"""

from __future__ import annotations

import re

import flask_smorest
import marshmallow as ma
from flask_smorest import Api
from flask_smorest.utils import resolve_schema_instance
from webargs.core import _UNKNOWN_DEFAULT_PARAM
from webargs.flaskparser import FlaskParser

from server.errors import ApiError
from server.schema_dump import planned_dump
from server.schema_load import QueryLoad, planned_query_load


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "Human-readable message"})
    retry_after = ma.fields.Integer(metadata={"description": "Seconds to wait before retrying"})
    details = ma.fields.Raw(metadata={"description": "Field errors of an invalid request"})
    field = ma.fields.String(metadata={"description": "field_too_long: the field whose value is over its limit"})
    limit = ma.fields.Integer(metadata={"description": "field_too_long: that field's limit, in characters"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


# NUL and unpaired surrogates decode fine from JSON and URLs, but PostgreSQL refuses
# them (text and JSONB), so one stored value would be a 500 there (found by schemathesis).
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def refuse_unstorable_text(data) -> None:
    """Raises ApiError 400 if any string (or key) in `data` holds NUL or a lone surrogate."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _UNSTORABLE_TEXT.search(value):
                raise ApiError(
                    400, "invalid_request", "Text must not contain NUL characters or unpaired UTF-16 surrogates."
                )
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)


class ApiParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.query_loads: dict[int, tuple[ma.Schema, QueryLoad | None]] = {}

    def parse(self, argmap, req=None, *, location=None, unknown=_UNKNOWN_DEFAULT_PARAM, validate=None, **kwargs):
        """webargs' parse, with a query schema's plan (server/schema_load.py) tried first:
        its answer, when it has one, is webargs' answer."""
        if (
            (location or self.location) == "query"
            and isinstance(argmap, ma.Schema)
            and unknown == _UNKNOWN_DEFAULT_PARAM
        ):
            load = self.query_load(argmap)
            if load is not None and validate is None:
                query = (req if req is not None else self.get_default_request()).args
                refuse_unstorable_text([*query.keys(), *query.values()])
                loaded = load(query)
                if loaded is not None:
                    return loaded
        return super().parse(argmap, req, location=location, unknown=unknown, validate=validate, **kwargs)

    def query_load(self, schema: ma.Schema) -> QueryLoad | None:
        planned = self.query_loads.get(id(schema))
        if planned is None or planned[0] is not schema:
            planned = self.query_loads[id(schema)] = (schema, planned_query_load(schema))
        return planned[1]

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        refuse_unstorable_text(data)
        return data

    def load_querystring(self, req, schema):
        refuse_unstorable_text([*req.args.keys(), *req.args.values()])
        return super().load_querystring(req, schema)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ApiParser()
    PAGINATION_ARGUMENTS_PARSER = ApiParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, with a schema class instantiated once here: webargs builds a
        new instance of a class on every request (about 0.1 ms of CPU each). Argument
        schemas keep no state between loads, so one instance serves every request."""
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)

    def response(self, status_code, schema=None, **kwargs):
        """flask-smorest's, with the schema's dump planned once (schema_dump.py). The
        schema stays the same instance of the same class, so the OpenAPI document names
        and describes it as before; only its `dump` is the planned one, equal in result."""
        if schema is not None:
            schema = resolve_schema_instance(schema)
            schema.dump = planned_dump(schema)
        return super().response(status_code, schema, **kwargs)


class CrmApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # server.errors renders every error; flask-smorest's own handler would
        # answer in a different shape.
        pass


api = CrmApi(
    spec_kwargs={
        "info": {"description": "Backend of the CRM Sync for Outlook add-in."},
    }
)


def document_security(app_api: Api) -> None:
    """Declares the bearer token every /api/v1 call carries (Entra ID access token)."""
    app_api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
