"""The pages' error answers: a plain error page in words for people, the one JSON
error shape for API-like callers (fetch with Accept: application/json)."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext, lazy_gettext
from werkzeug.exceptions import HTTPException

from server.crm.keyset import InvalidCursor
from server.errors import ApiError, error_response, from_http_exception
from server.web.blueprint import bp
from server.web.csrf import FormRefused

ERROR_TEXT = {
    400: (
        lazy_gettext("Something in this request was not right"),
        lazy_gettext("Go back, reload the page and try again."),
    ),
    401: (lazy_gettext("Sign in to continue"), lazy_gettext("Your session has ended. Sign in again.")),
    403: (lazy_gettext("Not allowed"), lazy_gettext("You do not have permission for this page.")),
    404: (
        lazy_gettext("Not found"),
        lazy_gettext(
            "This record does not exist, or it belongs to another organization. Search for it, or go back to the list."
        ),
    ),
    405: (lazy_gettext("Not allowed"), lazy_gettext("This address does not accept that kind of request.")),
    413: (
        lazy_gettext("Too large"),
        lazy_gettext("What you sent is larger than this server accepts. Shorten it and try again."),
    ),
    429: (lazy_gettext("Too many requests"), lazy_gettext("Wait a moment, then try again.")),
}
UNEXPECTED = (lazy_gettext("Something went wrong"), lazy_gettext("Try again in a moment."))


def error_page(status: int, detail: str | None = None):
    title, hint = ERROR_TEXT.get(status, UNEXPECTED)
    return render_template("crm/error.html", status=status, title=title, hint=hint, detail=detail), status


def wants_json() -> bool:
    """An API-like caller (fetch with Accept: application/json) gets the one error shape."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    detail = exc.description if isinstance(exc, FormRefused) else None
    if wants_json():
        error = from_http_exception(exc)
        if detail:
            error.message = detail
        return error_response(error)
    return error_page(exc.code or 500, detail)


@bp.errorhandler(InvalidCursor)
def bad_cursor(_exc):
    return error_page(400, gettext("That page link is not valid. Start from the first page."))


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    if wants_json():
        return error_response(exc)
    return error_page(exc.status if exc.status in ERROR_TEXT else 503, exc.message)
