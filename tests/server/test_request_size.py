"""Every POST/PUT/PATCH route refuses a body over MAX_CONTENT_LENGTH with 413 in the one
error shape, whether or not the route reads its body, signed in or not."""

from __future__ import annotations

import re

import pytest

from tests.support.identities import ADELE

LIMIT = 2048
ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def sample_values(rule) -> dict:
    values = {}
    for converter, name in ARGUMENT.findall(rule.rule):
        values[name] = 1 if converter == "int" else ("case" if converter == "any" else "AAMkAGI2x")
    return values


def write_routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            yield rule, method


@pytest.fixture
def small_app(make_app):
    return make_app(MAX_CONTENT_LENGTH=LIMIT)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_every_write_route_refuses_an_oversized_body(small_app, clean_state, emulator, signed_in):
    client = small_app.test_client()
    headers = {"Accept": "application/json"}  # the CRM pages answer API-like callers in JSON too
    if signed_in:
        headers["Authorization"] = f"Bearer {emulator.pane_token(ADELE)}"
    body = b'{"padding": "' + b"x" * (LIMIT * 2) + b'"}'
    checked = []
    for rule, method in write_routes(small_app):
        path = rule.build(sample_values(rule))[1]
        response = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 413, (method, path, response.status_code, response.get_data()[:200])
        error = response.json["error"]
        assert error["code"] == "payload_too_large" and str(LIMIT) in error["message"]
        checked.append(f"{method} {rule.rule}")
    assert len(checked) >= 20, checked


def test_a_browser_gets_a_413_page(small_app, clean_state):
    response = small_app.test_client().post(
        "/crm/settings/tenant", data={"padding": "x" * LIMIT * 2}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_a_body_within_the_limit_is_served(small_app, clean_state, emulator):
    headers = {"Authorization": f"Bearer {emulator.pane_token(ADELE)}"}
    response = small_app.test_client().put("/api/v1/settings/me", json={}, headers=headers)
    assert response.status_code != 413
