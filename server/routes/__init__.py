"""The app's route modules, one per resource. To add one: create
`server/routes/<name>.py` with a `bp` and add its name to ROUTE_MODULES;
`create_app` registers them in order. Their schemas sit in `routes/schemas/`.

An API module's `bp` is a `server.api.Blueprint` (flask-smorest; url_prefix under
/api/v1; documented in the OpenAPI). A plain `flask.Blueprint` (the add-in's
static files) is registered on the app directly and stays out of the OpenAPI.
Views raise or let through; `server.errors` answers every failure.
"""

from __future__ import annotations

from importlib import import_module

import flask_smorest
from flask import Flask
from flask_smorest import Api

ROUTE_MODULES = [
    "health",
    "addin",
    "messages",
    "people",
    "sent_messages",
    "sender_contacts",
    "outlook_contacts",
    "contact_search",
    "cases",
    "tasks",
    "email_links",
    "attachments",
    "notes",
    "conversation_links",
    "sharing_rules",
    "crm_contacts",
    "crm_companies",
    "notifications",
    "settings",
    "bulk_sync",
    "jobs",
]


def register_routes(api: Api, app: Flask | None = None) -> None:
    app = app or api._app
    for name in ROUTE_MODULES:
        module = import_module(f"{__name__}.{name}")
        if isinstance(module.bp, flask_smorest.Blueprint):
            api.register_blueprint(module.bp)
        else:
            app.register_blueprint(module.bp)
