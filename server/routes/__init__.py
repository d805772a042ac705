"""The API's route modules. To add one: create `server/routes/<name>.py` with a
`bp = Blueprint(...)` (from server.api, url_prefix under /api/v1) and add its
name to ROUTE_MODULES; `create_app` registers them in this order."""
from __future__ import annotations

from importlib import import_module

from flask_smorest import Api

ROUTE_MODULES = [
    "health",
]


def register_routes(api: Api) -> None:
    for name in ROUTE_MODULES:
        module = import_module(f"{__name__}.{name}")
        api.register_blueprint(module.bp)
