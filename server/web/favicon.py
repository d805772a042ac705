"""The site icon every browser asks for at /favicon.ico: the add-in's own icon (its 16,
32 and 48 px PNGs from addin/assets/ in one ICO file, server/static/favicon.ico), so the
CRM pages carry the product's mark and no page logs a 404 for it."""

from __future__ import annotations

from flask import send_from_directory

from server.web.blueprint import SERVER_DIR, bp

FAVICON_MAX_AGE_S = 7 * 24 * 3600


@bp.get("/favicon.ico")
def favicon():
    """The icon; public and cacheable (it holds nothing private)."""
    return send_from_directory(SERVER_DIR / "static", "favicon.ico", mimetype="image/x-icon", max_age=FAVICON_MAX_AGE_S)
