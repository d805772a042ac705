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

flask-limiter holds the webhook and page limits. The per-user limit, which every API
request meets, is `UserLimit`: flask-limiter would resolve, filter and evaluate its limits
anew on each request (about 0.15 ms of CPU, bench/b1_profile.py), where the one thing to
do is one `hit` per limit; `UserLimit` does only that, with flask-limiter's own keys,
windows, strategy and storage, so the counters are the same ones.

Over the limit: 429 {"error": {"code": "rate_limited", "message", "retry_after"}} with
Retry-After. The client IP is request.remote_addr: behind a proxy, configure werkzeug's
ProxyFix so it is the caller's, not the proxy's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.constants import MAX_BACKEND_CHECKS
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter

from server.auth import auth_state, bearer_token
from server.config import declared_default
from server.errors import ApiError, error_response

WEBHOOK_PREFIX = "/api/v1/notifications"
UNLIMITED_PATHS = frozenset({"/api/v1/health"})
PAGES_PREFIX = "/crm/"
LIMITED_SETTINGS = ("RATE_LIMIT", "WEBHOOK_RATE_LIMIT", "PAGES_RATE_LIMIT")
KEY_PREFIX = "crm-rl"
# flask-limiter's scope of an application limit: part of each counter's key.
APPLICATION_SCOPE = "global"

log = logging.getLogger(__name__)


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


def uses_flask_limiter() -> bool:
    """Whether flask-limiter has a limit that may apply to this request: everywhere but
    the API's own paths (webhooks aside), whose one limit is `UserLimit`."""
    path = request.path
    return not path.startswith("/api/") or path.startswith(WEBHOOK_PREFIX)


def too_many(item: RateLimitItem, reset_at: float) -> Response:
    retry_after = max(1.0, reset_at - time.time())
    return error_response(
        ApiError(
            429,
            "rate_limited",
            f"Too many requests: at most {item.amount} per {item.get_expiry()} s. "
            f"Retry in {int(retry_after + 0.999)} s.",
            retry_after=retry_after,
        )
    )


def breached(limit: RequestLimit):
    return too_many(limit.limit, limit.reset_at)


class UserLimit:
    """RATE_LIMIT per caller on the API, as flask-limiter counted it as an application
    limit: one `hit` per limit, shortest window first, stopping at the first one over
    (429); the same keys ("crm-rl", `caller_key()`, "global") in the same storage with
    the same strategy. If the storage fails, counting goes on in this process's memory
    and the storage is asked again after 1, 2, 4... s, as flask-limiter does; if memory
    fails too, the request goes through."""

    def __init__(self, limits: list[RateLimitItem], strategy: RateLimiter, fallback: RateLimiter):
        self.limits = sorted(limits)  # by window length, as flask-limiter orders them
        self.strategy = strategy
        self.fallback = fallback
        self.storage_dead = False
        self.backend_checks = 0
        self.backend_checked_at = time.time()

    def check(self) -> Response | None:
        """before_request: None, or the 429 answer."""
        if not_limited_per_user():
            return None
        try:
            return self.count(self.fallback if self.storage_dead and not self.recovered() else self.strategy)
        except Exception:
            if self.storage_dead:
                log.exception("Failed to rate limit. Swallowing error")
                return None
            log.warning("Rate limit storage unreachable - falling back to in-memory storage")
            self.storage_dead = True
            return self.check()

    def count(self, strategy: RateLimiter) -> Response | None:
        args = (KEY_PREFIX, caller_key(), APPLICATION_SCOPE)
        for item in self.limits:
            if not strategy.hit(item, *args):
                log.debug("ratelimit %s (%s) exceeded", item, args[1])
                return too_many(item, strategy.get_window_stats(item, *args).reset_time)
        return None

    def recovered(self) -> bool:
        """Whether the storage answers again, asked 1, 2, 4, 8, 16 and 32 s after the last
        time, then from 1 s again (flask-limiter's backoff)."""
        if self.backend_checks > MAX_BACKEND_CHECKS:
            self.backend_checks = 0
        now = time.time()
        if now - self.backend_checked_at <= 2**self.backend_checks:
            return False
        self.backend_checked_at = now
        self.backend_checks += 1
        if not self.strategy.storage.check():
            return False
        log.info("Rate limit storage recovered")
        self.storage_dead = False
        self.backend_checks = 0
        return True


HOOK_LISTS = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs")


def _skipping_the_api(kind: str, hook: Callable) -> Callable:
    if kind == "before_request_funcs":
        return lambda: hook() if uses_flask_limiter() else None
    if kind == "after_request_funcs":
        return lambda response: hook(response) if uses_flask_limiter() else response
    return lambda exc=None: hook(exc) if uses_flask_limiter() else None


def init_flask_limiter(app: Flask, limiter: Limiter) -> None:
    """`limiter.init_app(app)`, with the request hooks it adds made to skip the API's paths
    (`uses_flask_limiter`): none of its limits apply there, and each of its hooks costs
    CPU on every request all the same."""
    before = {kind: list(getattr(app, kind).get(None, ())) for kind in HOOK_LISTS}
    limiter.init_app(app)
    for kind in HOOK_LISTS:
        hooks = getattr(app, kind).get(None, [])
        hooks[:] = [
            hook if any(hook is old for old in before[kind]) else _skipping_the_api(kind, hook) for hook in hooks
        ]


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
        storage_uri=app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "crm-memory://",
        on_breach=breached,
        swallow_errors=True,  # Redis down: serve the request rather than fail it
        in_memory_fallback_enabled=True,
        headers_enabled=False,
        key_prefix=KEY_PREFIX,
        enabled=enabled,
    )
    init_flask_limiter(app, limiter)
    if enabled and api_on:
        # One budget per user across every route, in flask-limiter's storage and with its
        # strategy (flask-limiter's default limits would count each route apart).
        user_limit = UserLimit(parse_many(rate), limiter.limiter, type(limiter.limiter)(ProcessMemoryStorage()))
        app.extensions["crm_user_limit"] = user_limit
        app.before_request(user_limit.check)

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
