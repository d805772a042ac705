"""The emulator's Flask app factory and its shared state.

Everything a request handler needs hangs off one `EmulatorState`, reachable as
`current_app.extensions["emulator"]` (or `emulator.app.state()`).
"""

import importlib
import logging
import os

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from emulator import admin, identity, signin
from emulator.faults import Faults, graph_error_body
from emulator.gate import MAX_BODY_BYTES, Gate, is_graph_path, is_token_path
from emulator.oauth import Grants, oauth_error
from emulator.requestlog import RequestLog
from emulator.store import Store
from emulator.tokens import SigningKey

DEMO_FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "demo.json")
log = logging.getLogger(__name__)


class EmulatorState:
    """The emulated tenants' data plus the emulator's own machinery."""

    def __init__(self, fixture_path: str, state_dir: str, base_url: str):
        self.fixture_path = fixture_path
        self.state_dir = state_dir
        self.base_url = base_url.rstrip("/")
        self.store = Store.from_file(fixture_path)
        self.keys = SigningKey.load_or_create(state_dir)
        self.faults = Faults()
        self.log = RequestLog()
        self.grants = Grants()
        self._reset_hooks = []

    def on_reset(self, hook) -> None:
        """Run `hook()` on `POST /_emulator/reset` (e.g. to drop subscriptions)."""
        self._reset_hooks.append(hook)

    def reset(self) -> None:
        self.store.reset()
        self.log.clear()
        self.faults.reset()
        self.grants.clear()
        for hook in self._reset_hooks:
            hook()


def state() -> EmulatorState:
    return current_app.extensions["emulator"]


def create_app(fixture_path: str | None, state_dir: str, base_url: str) -> Flask:
    """Build the emulator app; `base_url` (https://host:port) is the issuer host in tokens."""
    os.makedirs(state_dir, exist_ok=True)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["emulator"] = EmulatorState(fixture_path or DEMO_FIXTURE, state_dir, base_url)

    app.register_blueprint(identity.bp)
    app.register_blueprint(signin.bp)
    app.register_blueprint(admin.bp, url_prefix="/_emulator")
    _register_optional(app, "emulator.graph", url_prefix="/v1.0")
    _register_optional(app, "emulator.outlook")  # the Outlook-like page, /outlook
    _register_errors(app)
    # Faults, throttling and the request log wrap Graph and token requests at the
    # WSGI level, where a "drop" can close the connection without an answer.
    app.wsgi_app = Gate(app.wsgi_app, app.extensions["emulator"])
    return app


def _register_optional(app: Flask, module_name: str, url_prefix: str | None = None) -> None:
    """Register `module_name.bp` if that package exists.

    Lets identity run on its own while the Graph half and the Outlook page are
    being built; a real import error inside them still raises.
    """
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        module = None
    blueprint = getattr(module, "bp", None)
    if blueprint is None:
        log.warning("%s has no blueprint: its endpoints are off", module_name)
        return
    app.register_blueprint(blueprint, **({"url_prefix": url_prefix} if url_prefix else {}))


def _register_errors(app: Flask) -> None:
    """One error shape per protocol, and never a stack trace in a response."""

    @app.errorhandler(HTTPException)
    def http_error(e):
        return _error_response(e.code or 500, e.name, e.description)

    @app.errorhandler(Exception)
    def unexpected_error(e):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(500, "Internal Server Error", "The server hit an unexpected error.")


_GRAPH_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "ErrorAccessDenied",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
}


def _error_response(status: int, name: str, description: str):
    path = request.path
    if is_graph_path(path):
        if status == 404:
            message = f"Resource not found for the segment '{path.rstrip('/').rsplit('/', 1)[-1]}'."
        elif status == 413:
            message = "The request body is larger than the 4 MB Graph accepts."
        else:
            message = description or name
        code = _GRAPH_CODES.get(status, "InternalServerError" if status >= 500 else "BadRequest")
        return jsonify(graph_error_body(code, message)), status
    if is_token_path(path) or "/oauth2/" in path:
        code, text = (
            (900561, "The endpoint only accepts POST requests.") if status == 405 else (90000, description or name)
        )
        return oauth_error(
            "invalid_request" if status < 500 else "server_error", f"AADSTS{code}: {text}", [code], status=status
        )
    return jsonify({"error": {"code": name.replace(" ", ""), "message": description or name}}), status
