"""server/routes/addin.py: the add-in's files as the backend serves them."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask

from server.routes import addin

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
SHIM = "https://localhost:8443/outlook/office.js"


@pytest.fixture
def client():
    app = Flask(__name__)
    app.config.update(
        PUBLIC_BASE_URL="https://crm.example.com",
        AZURE_CLIENT_ID=CLIENT_ID,
        OFFICE_JS_URL=SHIM,
        AUTHORITY_HOST="https://login.microsoftonline.com",
        AZURE_TENANT_ID="organizations",
    )
    addin.init_app(app)
    return app.test_client()


@pytest.mark.parametrize("path", ["/addin/taskpane/taskpane.html", "/addin/commands/commands.html"])
def test_pages_load_office_js_from_the_configured_url_and_carry_the_auth_settings(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<script src="{SHIM}"></script>' in page
    assert "appsforoffice.microsoft.com" not in page
    settings = json.loads(html.unescape(re.search(r'<meta name="crm-config" content="([^"]*)">', page).group(1)))
    assert settings == {
        "clientId": CLIENT_ID,
        "scope": f"api://crm.example.com/{CLIENT_ID}/access_as_user",
        "authority": "https://login.microsoftonline.com/organizations",
    }


def test_commands_page_loads_only_office_js_and_commands_js(client):
    page = client.get("/addin/commands/commands.html").get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*src=\"([^\"]+)\"", page)
    assert scripts == [SHIM, "commands.js"]


def test_es_modules_are_served_as_javascript(client):
    for path in ("/addin/taskpane/taskpane.js", "/addin/shared/api.js", "/addin/commands/commands.js"):
        assert client.get(path).mimetype == "text/javascript", path


def test_msal_browser_build_is_served_from_node_modules(client):
    if not (addin.MSAL_DIR / addin.MSAL_FILE).exists():
        pytest.fail("node_modules is missing: run `npm ci` (make test does)")
    response = client.get("/addin/vendor/msal-browser.min.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert b"createNestablePublicClientApplication" in response.data


@pytest.mark.parametrize(
    "path",
    [
        "/addin/taskpane/../manifest.xml",
        "/addin/taskpane/missing.html",
        "/addin/assets/../../server/config.py",
        "/addin/vendor/other.js",
    ],
)
def test_nothing_outside_the_add_in_is_served(client, path):
    assert client.get(path).status_code == 404
