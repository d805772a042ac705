"""Per-user rate limits on the API (flask-limiter), answered with the one error shape.

- /api/* is limited per user (RATE_LIMIT, default 600 per minute), keyed by the
  validated token's tid+oid, or by client IP when the request carries no valid token.
- Webhook endpoints (/api/v1/notifications*) are exempt from the per-user limit, so a
  flood of forged notifications cannot exhaust anyone's budget, and are limited per IP
  instead (WEBHOOK_RATE_LIMIT, default 6000 per minute: Graph sends many from few IPs).
- The CRM pages' form posts (POST /crm/...) are limited per signed-in user, or per IP
  when signed out (PAGES_RATE_LIMIT, default 60 per minute): the pages hand in who is
  signed in and how a refusal reads (`PageLimit`), as this layer knows no session.
  Their GETs, GET /api/v1/health and static files are not limited here.
- Apps with TESTING set have no limits unless RATE_LIMIT, WEBHOOK_RATE_LIMIT or
  PAGES_RATE_LIMIT differs from its default.
- Counters live in Redis when REDIS_URL is set (shared by every worker), else in the
  process's memory (`ProcessMemoryStorage`). If Redis fails, requests go through
  (limits fall back to memory).

Over the limit: 429 {"error": {"code": "rate_limited", "message", "retry_after"}} with
Retry-After. The client IP is request.remote_addr: behind a proxy, configure werkzeug's
ProxyFix so it is the caller's, not the proxy's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from limits.storage import MemoryStorage

from server.auth import auth_state, bearer_token
from server.config import declared_default
from server.errors import ApiError, error_response

WEBHOOK_PREFIX = "/api/v1/notifications"
UNLIMITED_PATHS = frozenset({"/api/v1/health"})
PAGES_PREFIX = "/crm/"
LIMITED_SETTINGS = ("RATE_LIMIT", "WEBHOOK_RATE_LIMIT", "PAGES_RATE_LIMIT")


class ProcessMemoryStorage(MemoryStorage):
    """limits' in-memory counters without their timer thread.

    limits' MemoryStorage starts a thread 10 ms after each counted request to drop
    expired counters: with requests further apart than that, one new thread per API
    request, about 0.2 ms of CPU each (bench/b1_profile.py). The counts never depend on
    it: a fixed window's counter past its expiry reads as 0 when next counted. So this
    storage drops expired counters itself, in the request that counts, at most every
    PURGE_EVERY_S, which keeps memory bounded the same way."""

    STORAGE_SCHEME = ["crm-memory"]
    PURGE_EVERY_S = 10.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one MemoryStorage starts; none replaces it
        self.purged_at = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces MemoryStorage's private hook
        now = time.monotonic()
        if now - self.purged_at >= self.PURGE_EVERY_S:
            self.purged_at = now
            self._MemoryStorage__expire_events()


@dataclass(frozen=True)
class PageLimit:
    """What the CRM pages' limit needs from the pages: the blueprint's name, who is
    calling (the signed-in user, else the client IP) and the answer over the limit."""

    blueprint: str
    key: Callable[[], str]
    breached: Callable[[RequestLimit], Response]


def is_off(limit: str) -> bool:
    return str(limit).strip().lower() == "off"


def client_ip() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def caller_key() -> str:
    """tid+oid of a valid bearer token, else the client IP. Runs before the view, so
    it validates the token itself (signature and claims; no network once keys are cached)."""
    principal = g.get("principal")
    if principal is None:
        token = bearer_token()
        if token:
            try:
                principal = auth_state().validator.validate(token)
            except ApiError:
                principal = None  # invalid or app-only: the view answers 401; count it by IP
    if principal is not None:
        return f"user:{principal.tid}:{principal.oid}"
    return client_ip()


def not_limited_per_user() -> bool:
    path = request.path
    return not path.startswith("/api/") or path in UNLIMITED_PATHS or path.startswith(WEBHOOK_PREFIX)


def breached(limit: RequestLimit):
    retry_after = max(1.0, limit.reset_at - time.time())
    amount = limit.limit.amount
    per = limit.limit.get_expiry()
    return error_response(
        ApiError(
            429,
            "rate_limited",
            f"Too many requests: at most {amount} per {per} s. Retry in {int(retry_after + 0.999)} s.",
            retry_after=retry_after,
        )
    )


def init_app(app: Flask, pages: PageLimit | None = None) -> Limiter:
    """One Limiter per app (tests build several apps with different limits). Call after
    the blueprints are registered: the webhook and page limits attach to theirs."""
    rate = app.config["RATE_LIMIT"]
    webhook_limit = app.config["WEBHOOK_RATE_LIMIT"]
    pages_limit = app.config["PAGES_RATE_LIMIT"]
    # A test suite's one long-lived app would otherwise throttle its own fixtures' user;
    # tests of the limits set limits of their own.
    explicit = any(app.config[name] != declared_default(name) for name in LIMITED_SETTINGS)
    api_on = not is_off(rate)
    pages_on = pages is not None and not is_off(pages_limit)
    enabled = (api_on or pages_on) and bool(explicit or not app.config.get("TESTING"))
    limiter = Limiter(
        caller_key,
        # Application limits: one budget per user across every route (default limits
        # would count each route apart).
        application_limits=[rate] if api_on else [],
        application_limits_exempt_when=not_limited_per_user,
        storage_uri=app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "crm-memory://",
        on_breach=breached,
        swallow_errors=True,  # Redis down: serve the request rather than fail it
        in_memory_fallback_enabled=True,
        headers_enabled=False,
        key_prefix="crm-rl",
        enabled=enabled,
    )
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded):
        # More specific than server.errors' HTTPException handler: keep on_breach's answer.
        return exc.response or error_response(ApiError(429, "rate_limited", "Too many requests."))

    for blueprint in app.blueprints.values():
        if api_on and (blueprint.url_prefix or "").startswith(WEBHOOK_PREFIX):
            limiter.shared_limit(webhook_limit, scope="webhooks", key_func=client_ip)(blueprint)
    if pages_on:
        # Runs before the pages' own guard, so before anything reads the body.
        limiter.shared_limit(
            pages_limit,
            scope="pages",
            key_func=pages.key,
            methods=["POST"],
            exempt_when=lambda: not request.path.startswith(PAGES_PREFIX),
            on_breach=pages.breached,
        )(app.blueprints[pages.blueprint])
    return limiter
