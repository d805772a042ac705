"""The pages' error answers: a plain error page in words for people, the one JSON
error shape for API-like callers (fetch with Accept: application/json)."""

from __future__ import annotations

from flask import render_template, request
from werkzeug.exceptions import HTTPException

from server.crm.keyset import InvalidCursor
from server.errors import ApiError, error_response, from_http_exception
from server.web.blueprint import bp

ERROR_TEXT = {
    400: ("Something in this request was not right", "Go back, reload the page and try again."),
    401: ("Sign in to continue", "Your session has ended. Sign in again."),
    403: ("Not allowed", "You do not have permission for this page."),
    404: (
        "Not found",
        ("This record does not exist, or it belongs to another organization. Search for it, or go back to the list."),
    ),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "What you sent is larger than this server accepts. Shorten it and try again."),
}


def error_page(status: int, detail: str | None = None):
    title, hint = ERROR_TEXT.get(status, ("Something went wrong", "Try again in a moment."))
    return render_template("crm/error.html", status=status, title=title, hint=hint, detail=detail), status


def wants_json() -> bool:
    """An API-like caller (fetch with Accept: application/json) gets the one error shape."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    detail = exc.description if exc.code == 400 and exc.description and "form" in exc.description else None
    if wants_json():
        error = from_http_exception(exc)
        if detail:
            error.message = detail
        return error_response(error)
    return error_page(exc.code or 500, detail)


@bp.errorhandler(InvalidCursor)
def bad_cursor(_exc):
    return error_page(400, "That page link is not valid. Start from the first page.")


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    if wants_json():
        return error_response(exc)
    return error_page(exc.status if exc.status in ERROR_TEXT else 503, exc.message)
