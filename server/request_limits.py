"""Request size limit (MAX_CONTENT_LENGTH) on every route, whether or not it reads its body.

Flask enforces MAX_CONTENT_LENGTH only when a view reads the body, so a route that
ignores its body (POST /messages/{id}/sync) would accept any size. A declared length
over the limit is refused before auth, rate limits and views: 413 in the one error
shape. Bodies without a length (chunked) stay bounded by werkzeug when read.

A file-upload view may have a larger limit of its own (`upload_limit`): it applies
to that view's multipart/form-data posts only, and is set before anything (the CSRF
check) parses the form. Any other body sent to it keeps MAX_CONTENT_LENGTH.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, request

from server.errors import ApiError

View = TypeVar("View", bound=Callable)


def upload_limit(setting: str) -> Callable[[View], View]:
    """Marks a view whose multipart uploads may be as large as the app setting `setting`."""

    def mark(view: View) -> View:
        view.upload_limit_setting = setting  # type: ignore[attr-defined]
        return view

    return mark


def init_app(app: Flask) -> None:
    """Call before other before_request hooks are registered (they run in order)."""

    @app.before_request
    def refuse_oversized_bodies():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        setting = getattr(app.view_functions.get(request.endpoint or ""), "upload_limit_setting", None)
        if setting and request.mimetype == "multipart/form-data" and app.config.get(setting):
            limit = int(app.config[setting])
            request.max_content_length = limit
        if limit is not None and (request.content_length or 0) > limit:
            raise ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
