"""CRM Sync for Outlook: the backend. `create_app(config=None)` is the factory
(gunicorn: `server:create_app()`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS

from server import audit_requests, errors, headers, ratelimit, request_limits, web
from server.api import api, document_security
from server.cli import register_cli
from server.config import Config, derive_unset, instance_secret_key
from server.db import Database
from server.jobs import schedule
from server.routes import register_routes
from server.sync.errors import GRAPH_TRANSLATIONS

db = Database()
cors = CORS()


def create_app(config: type[Config] | Config | Mapping[str, Any] | None = None) -> Flask:
    """Builds the app. `config`: None reads the environment (Config.from_env());
    a Config subclass (or instance) is used as is; a dict overrides the
    environment's settings."""
    if config is None or isinstance(config, Mapping):
        settings: Any = Config.from_env()
    else:
        settings = config
    instance_dir = (config.get("INSTANCE_DIR") if isinstance(config, Mapping) else None) or getattr(
        settings, "INSTANCE_DIR", Config.INSTANCE_DIR
    )
    app = Flask(__name__, instance_path=str(Path(instance_dir)))
    app.config.from_object(settings)
    if isinstance(config, Mapping):
        app.config.update(config)
        derive_unset(app.config, given=config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))
    configure_logging(app)

    request_limits.init_app(app)
    audit_requests.init_app(app)  # the caller's address for the audit log
    db.init_app(app)
    api.init_app(app)
    document_security(api)
    register_routes(api, app)
    app.register_blueprint(web.bp)
    web.page_session.init_app(app)  # the pages' sessions, kept server-side
    web.i18n.init_app(app)  # the pages' languages and time zones
    ratelimit.init_app(app, pages=web.page_limits.PAGE_LIMIT)
    errors.init_app(app, GRAPH_TRANSLATIONS)  # after the Api: ours must be the handlers that answer
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": [app.config["PUBLIC_BASE_URL"]]}},
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    headers.init_app(app)
    schedule.init_app(app)
    register_cli(app)
    return app


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("server").setLevel(level)
    app.logger.setLevel(level)
