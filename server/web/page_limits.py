"""The CRM pages' side of their rate limit (server/ratelimit.py applies it to every
`POST /crm/...` before the page guard, so before any body is read): whom a post counts
against, and the page that answers one too many."""

from __future__ import annotations

import math
import time

from flask import make_response, request
from flask_babel import gettext
from flask_limiter import RequestLimit

from server.errors import ApiError, error_response
from server.ratelimit import PageLimit
from server.web.blueprint import bp
from server.web.error_pages import error_page, wants_json
from server.web.signed_in_user import current_user


def page_caller_key() -> str:
    """The signed-in user (tenant + object id), else the client IP."""
    user = current_user()
    if user is not None:
        return f"page-user:{user.tid}:{user.oid}"
    return f"ip:{request.remote_addr or 'unknown'}"


def too_many_posts(limit: RequestLimit):
    """429 with Retry-After: a page saying how long to wait (the one error shape for
    a caller that asked for JSON)."""
    wait = max(1, math.ceil(limit.reset_at - time.time()))
    message = gettext(
        "You sent too many forms in a short time. Wait %(seconds)s seconds, then try again.", seconds=wait
    )
    if wants_json():
        return error_response(ApiError(429, "rate_limited", message, retry_after=wait))
    response = make_response(error_page(429, message))
    response.headers["Retry-After"] = str(wait)
    return response


PAGE_LIMIT = PageLimit(blueprint=bp.name, key=page_caller_key, breached=too_many_posts)
