"""Schemathesis against our OpenAPI document, through the app's WSGI interface, signed
in as a real user (emulator pane token): no 5xx, documented responses match their
schema, and every 4xx carries the one error shape. Bounded: a few examples per
operation, derandomized, so `make test` stays quick and repeatable."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from server import create_app
from tests.support.identities import ADELE

# FUZZ_EXAMPLES=200 FUZZ_RANDOM=1 explores further (minutes); the gate stays small and repeatable.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES") or 12)
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")


def documented_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document (read at collection
    from an app that is never served: building the document needs no database)."""
    document = create_app({"DATABASE_URL": "sqlite://", "TESTING": True}).test_client().get("/api/v1/openapi.json").json
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def error_shape_problem(response) -> str | None:
    """Why a 4xx body is not {"error": {"code": str, "message": str, ...}} (None if it is)."""
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - any non-JSON body is the finding
        return f"not JSON: {response.text[:200]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return f"no error object: {str(body)[:200]}"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return f"error without string code/message: {error}"
    return None


@pytest.mark.parametrize(("method", "path"), documented_operations())
def test_api_survives_generated_requests(method, path, api_schema, clean_state, emulator):
    operation = api_schema[path][method]
    token = emulator.pane_token(ADELE)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def survives(case):
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        if 400 <= response.status_code < 500:
            problem = error_shape_problem(response)
            assert problem is None, f"{case.method} {case.formatted_path} -> {response.status_code}: {problem}"

    survives()
