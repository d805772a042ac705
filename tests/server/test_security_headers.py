"""Security headers on every response of every route: CSP, X-Content-Type-Options,
Referrer-Policy, and HSTS when the app is served over https. Each rule of the URL map
is requested (GET where it allows it, else its own method), successes and errors alike."""

from __future__ import annotations

import re

import pytest

from tests.support.identities import ADELE

ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
FILES = {
    "addin.assets": "icon-32.png",
    "addin.commands": "commands.html",
    "addin.taskpane": "taskpane.html",
    "web.static": "crm.css",
    "static": "x.css",
}


def requests_for(app):
    """(method, path) for every rule: GET where allowed, else the rule's first method."""
    for rule in app.url_map.iter_rules():
        values = {}
        for converter, name in ARGUMENT.findall(rule.rule):
            if converter == "path":
                values[name] = FILES.get(rule.endpoint, "x.txt")
            elif converter == "int":
                values[name] = 1
            elif converter == "any":
                values[name] = "case"
            else:
                values[name] = "AAMkAGI2x"
        methods = rule.methods - {"HEAD", "OPTIONS"}
        method = "GET" if "GET" in methods else sorted(methods)[0]
        yield method, rule.build(values)[1]


def check_headers(response, where, https: bool):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src" in csp, (where, response.status_code, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy"), where
    if https:
        assert headers.get("Strict-Transport-Security", "").startswith("max-age="), where
    else:
        assert "Strict-Transport-Security" not in headers, where


@pytest.mark.parametrize("public_base_url", ["http://localhost:5000", "https://crm.example.com"])
def test_every_route_sends_the_security_headers(make_app, clean_state, emulator, public_base_url):
    app = make_app(PUBLIC_BASE_URL=public_base_url, API_AUDIENCE="api://localhost:5000/x,x")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {emulator.pane_token(ADELE)}"}
    https = public_base_url.startswith("https://")
    seen = 0
    for method, path in requests_for(app):
        for auth in (headers, {}):
            response = client.open(
                path, method=method, headers=auth, json={} if method in ("POST", "PUT", "PATCH") else None
            )
            check_headers(response, f"{method} {path} {'signed-in' if auth else 'anonymous'}", https)
            seen += 1
    # Errors outside any route: 404, 405, and a CORS preflight.
    check_headers(client.get("/no/such/page"), "404", https)
    check_headers(client.delete("/api/v1/health"), "405", https)
    check_headers(
        client.options("/api/v1/health", headers={"Origin": public_base_url, "Access-Control-Request-Method": "GET"}),
        "preflight",
        https,
    )
    assert seen >= 100
