"""Serves the Outlook add-in: its manifest (with PUBLIC_BASE_URL filled in), task pane,
function file, icons, and MSAL.js from node_modules. A plain Blueprint: no API, no auth.

The files under addin/ are written for the placeholder origin https://localhost:5000 and
Microsoft's office.js; both are swapped at serve time, so the same files work behind any
PUBLIC_BASE_URL and, in local runs and tests, with the emulator's Office.js shim.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, send_from_directory

ROOT_DIR = Path(__file__).resolve().parent.parent.parent
ADDIN_DIR = ROOT_DIR / "addin"
MSAL_DIR = ROOT_DIR / "node_modules" / "@azure" / "msal-browser" / "lib"
MSAL_FILE = "msal-browser.min.js"  # UMD build: sets window.msal, loads with a plain <script>

PLACEHOLDER_ORIGIN = "https://localhost:5000"
PLACEHOLDER_API_URI = "api://localhost:5000/"
PLACEHOLDER_CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
MICROSOFT_OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
CONFIG_META = '<meta name="crm-config" content="{}">'

bp = Blueprint("addin", __name__, url_prefix="/addin")


def public_origin() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def client_id() -> str:
    return current_app.config.get("AZURE_CLIENT_ID") or PLACEHOLDER_CLIENT_ID


def api_scope() -> str:
    host = urlsplit(public_origin()).netloc or "localhost:5000"
    return f"api://{host}/{client_id()}/access_as_user"


def render_manifest(text: str, origin: str, app_client_id: str) -> str:
    """The manifest with every placeholder URL on `origin` and the app registration's id."""
    host = urlsplit(origin).netloc or "localhost:5000"
    text = text.replace(PLACEHOLDER_ORIGIN, origin.rstrip("/"))
    text = text.replace(PLACEHOLDER_API_URI, f"api://{host}/")
    return text.replace(PLACEHOLDER_CLIENT_ID, app_client_id)


def render_page(path: Path) -> Response:
    """An add-in HTML page with OFFICE_JS_URL and the pane's auth settings filled in."""
    html = path.read_text(encoding="utf-8")
    html = html.replace(MICROSOFT_OFFICE_JS, current_app.config["OFFICE_JS_URL"])
    authority = f"{current_app.config['AUTHORITY_HOST'].rstrip('/')}/{current_app.config['AZURE_TENANT_ID']}"
    settings = json.dumps({"clientId": client_id(), "scope": api_scope(), "authority": authority})
    # Attribute-safe: JSON has no raw quotes once escaped for HTML.
    escaped = settings.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    html = html.replace(CONFIG_META, f'<meta name="crm-config" content="{escaped}">')
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def send_addin_file(folder: str, filename: str) -> Response:
    if filename.endswith(".html"):
        path = (ADDIN_DIR / folder / filename).resolve()
        if not path.is_file() or (ADDIN_DIR / folder).resolve() not in path.parents:
            abort(404)
        return render_page(path)
    response = send_from_directory(ADDIN_DIR / folder, filename, max_age=0)
    if filename.endswith(".js"):
        response.mimetype = "text/javascript"  # ES modules need a JavaScript MIME type
    return response


@bp.get("/manifest.xml")
def manifest():
    """The add-in manifest, its URLs on PUBLIC_BASE_URL."""
    text = (ADDIN_DIR / "manifest.xml").read_text(encoding="utf-8")
    body = render_manifest(text, public_origin(), client_id())
    return Response(
        body,
        mimetype="application/xml",
        headers={"Content-Disposition": 'inline; filename="manifest.xml"', "Cache-Control": "no-cache"},
    )


@bp.get("/taskpane/<path:filename>")
def taskpane(filename: str):
    """The task pane's files."""
    return send_addin_file("taskpane", filename)


@bp.get("/commands/<path:filename>")
def commands(filename: str):
    """The function file of the ribbon commands."""
    return send_addin_file("commands", filename)


@bp.get("/events/<path:filename>")
def events(filename: str):
    """The event-based activation runtime: events.html, and events.js, which classic Outlook on
    Windows runs on its own, so its API URL is absolute: PUBLIC_BASE_URL replaces the placeholder."""
    if filename != "events.js":
        return send_addin_file("events", filename)
    text = (ADDIN_DIR / "events" / "events.js").read_text(encoding="utf-8")
    response = Response(text.replace(PLACEHOLDER_ORIGIN, public_origin()), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/shared/<path:filename>")
def shared(filename: str):
    """The modules both the task pane and the ribbon commands load (API, sign-in, mailbox, strings)."""
    return send_addin_file("shared", filename)


@bp.get("/assets/<path:filename>")
def assets(filename: str):
    """Icons."""
    return send_from_directory(ADDIN_DIR / "assets", filename, max_age=86400)


@bp.get(f"/vendor/{MSAL_FILE}")
def msal_browser():
    """MSAL.js's browser build, straight from node_modules (`npm ci` installs it)."""
    if not (MSAL_DIR / MSAL_FILE).is_file():
        abort(404)
    response = send_from_directory(MSAL_DIR, MSAL_FILE, max_age=3600)
    response.mimetype = "text/javascript"
    return response


def init_app(app) -> None:
    """Registers the add-in's routes on `app`."""
    app.register_blueprint(bp)
