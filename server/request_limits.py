"""Request size limit (MAX_CONTENT_LENGTH) on every route, whether or not it reads its body.

Flask enforces MAX_CONTENT_LENGTH only when a view reads the body, so a route that
ignores its body (POST /messages/{id}/sync) would accept any size. A declared length
over the limit is refused before auth, rate limits and views: 413 in the one error
shape. Bodies without a length (chunked) stay bounded by werkzeug when read.
"""
from __future__ import annotations

from flask import Flask, request

from server.errors import ApiError


def init_app(app: Flask) -> None:
    """Call before other before_request hooks are registered (they run in order)."""
    @app.before_request
    def refuse_oversized_bodies():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and (request.content_length or 0) > limit:
            raise ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
