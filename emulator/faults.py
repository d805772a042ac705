"""Faults on demand and Outlook's per-mailbox throttling.

Two sources of failure, both answered like Graph answers them:
- rules posted to `/_emulator/faults` (429, 503, 504, added latency, a dropped
  connection, an "expired" token, a response "cut" off after `after_bytes` of its
  body, half of it by default, a 412 as when another client changed the item first
  and a conditional write's `If-Match` no longer matches), for N requests, T seconds, every n-th
  request or with a probability; an "expired_token" rule with a `token` refuses
  only that one token (revoked, or expired early) wherever Graph verifies tokens;
- limits: at most 4 requests in flight per mailbox (Outlook's MailboxConcurrency)
  and, optionally, N requests per mailbox per time window.

Use from a request handler (the WSGI gate does this for plain Graph requests;
the `$batch` blueprint does it for each inner request, except "expired_token"
rules: Graph checks the token once for the whole batch, see `check_batch_token`):

    fault = state.faults.check(method, path, mailbox)   # latency is slept inside
    if fault:
        status, headers, body = fault.graph_response()

and around the whole request, `state.faults.acquire(mailbox)` /
`state.faults.release(mailbox)` for the concurrency limit.
"""

import collections
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

KINDS = ("429", "503", "504", "latency", "drop", "expired_token", "cut", "412")
CHANGE_KEY_MISMATCH = (
    "The send or update operation could not be performed because the change key passed in the request does not "
    "match the current change key for the item."
)
DEFAULT_LIMITS = {"mailbox_concurrency": 4, "mailbox_requests_per_window": None, "window_s": 600}


class FaultRuleError(ValueError):
    """A posted rule is malformed (answered as 400 by the admin API)."""


def graph_error_body(code: str, message: str) -> dict:
    """Graph's error body, with the innerError fields Graph always adds."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }


@dataclass
class Fault:
    """One failure to inflict on one request."""

    kind: str  # one of KINDS, or "mailbox_concurrency" / "mailbox_rate"
    retry_after: int | None = None
    latency_ms: int = 0
    rule_id: str | None = None
    after_bytes: int | None = None  # "cut": body bytes sent before the connection drops

    @property
    def status(self) -> int:
        return {
            "429": 429,
            "mailbox_concurrency": 429,
            "mailbox_rate": 429,
            "503": 503,
            "504": 504,
            "drop": 504,
            "cut": 504,
            "expired_token": 401,
            "412": 412,
        }.get(self.kind, 200)

    @property
    def throttled(self) -> bool:
        return self.status == 429

    def graph_response(self) -> tuple[int, dict, dict]:
        """(status, headers, JSON body) the way Graph answers this failure.

        A "drop" (or "cut") cannot close a connection inside a `$batch`, so there it
        reads as the gateway timeout a client would see instead.
        """
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.kind == "mailbox_concurrency":
            body = graph_error_body("ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
        elif self.kind == "mailbox_rate":
            body = graph_error_body("ApplicationThrottled", "Application is over its MailboxRequests limit.")
        elif self.kind == "429":
            # The shape of Graph's documented throttling example.
            body = graph_error_body("TooManyRequests", "Please retry again later.")
        elif self.kind == "503":
            body = graph_error_body(
                "ServiceNotAvailable", "The service is temporarily unavailable. Please retry later."
            )
        elif self.kind == "412":
            body = graph_error_body("ErrorIrresolvableConflict", CHANGE_KEY_MISMATCH)
        elif self.kind == "expired_token":
            headers["WWW-Authenticate"] = (
                'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
                'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
            )
            body = graph_error_body("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        else:  # "504", "drop" and "cut"
            body = graph_error_body("GatewayTimeout", "The gateway did not receive a timely response.")
        return self.status, headers, body

    def oauth_response(self) -> tuple[int, dict, dict]:
        """(status, headers, JSON body) for the token endpoint, in the OAuth2 error shape."""
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        body = {
            "error": "temporarily_unavailable",
            "error_description": f"AADSTS90033: A transient error has occurred. Please try again. ({self.kind})",
            "error_codes": [90033],
        }
        return self.status if self.status != 401 else 503, headers, body


@dataclass
class FaultRule:
    id: str
    kind: str
    path: re.Pattern
    method: str | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    remaining: int | None = None  # faults still to inflict; None = unlimited
    until: float | None = None  # monotonic deadline; None = no deadline
    every: int = 1
    probability: float = 1.0
    matched: int = 0  # matching requests seen, for `every`
    token: str | None = None  # only requests bearing this bearer token
    after_bytes: int | None = None  # "cut": None = half the body
    source: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, body: dict) -> "FaultRule":
        """Build a rule from the admin API's JSON; raises FaultRuleError."""
        if not isinstance(body, dict):
            raise FaultRuleError("body must be a JSON object")
        kind = str(body.get("kind", ""))
        if kind not in KINDS:
            raise FaultRuleError(f"kind must be one of {', '.join(KINDS)}")
        token = body.get("token")
        if token is not None and (kind != "expired_token" or not isinstance(token, str) or not token):
            raise FaultRuleError("token applies to expired_token rules only, as the bearer token string")
        try:
            path = re.compile(body.get("path") or ".*")
        except re.error as e:
            raise FaultRuleError(f"path is not a valid regex: {e}") from None
        try:
            count = body.get("count")
            seconds = body.get("seconds")
            retry_after = body.get("retry_after")
            if retry_after is None and kind in ("429", "503"):
                retry_after = 1
            rule = cls(
                id=uuid.uuid4().hex[:12],
                kind=kind,
                path=path,
                method=(body.get("method") or None) and str(body["method"]).upper(),
                retry_after=None if retry_after is None else int(retry_after),
                latency_ms=int(body.get("latency_ms", 1000 if kind == "latency" else 0)),
                remaining=None if count is None else int(count),
                until=None if seconds is None else time.monotonic() + float(seconds),
                every=max(1, int(body.get("every", 1))),
                probability=float(body.get("probability", 1.0)),
                token=token,
                after_bytes=None if body.get("after_bytes") is None else max(0, int(body["after_bytes"])),
                source=dict(body),
            )
        except (TypeError, ValueError) as e:
            raise FaultRuleError(f"bad number in rule: {e}") from None
        return rule

    def active(self, now: float) -> bool:
        return (self.remaining is None or self.remaining > 0) and (self.until is None or now < self.until)

    def matches(self, method: str, path: str, token: str | None = None) -> bool:
        """A rule bound to a token matches only that token, whatever the method and path."""
        if self.token is not None:
            return token == self.token
        return not (self.method and self.method != method.upper()) and bool(self.path.search(path))

    def fire(self, method: str, path: str, now: float, token: str | None = None) -> bool:
        """Count a request against this rule; True when it gets the fault."""
        if not self.active(now) or not self.matches(method, path, token):
            return False
        return self._strike()

    def _strike(self) -> bool:
        """One matching request seen: True when `every`, `probability` and `count` let it fail."""
        self.matched += 1
        if self.matched % self.every:
            return False
        if self.probability < 1.0 and random.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


class Faults:
    """Fault rules plus per-mailbox limits; every method is thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        # Latency sleeps wait on this; reset() wakes them, so a request still sleeping out
        # an earlier test's fault frees its mailbox slot at once. clear() does not: a
        # test may drop its rules and still wait for the delayed request to complete.
        self._wake = threading.Event()
        self._in_flight: collections.Counter = collections.Counter()
        self._recent: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.limits = dict(DEFAULT_LIMITS)

    # -- rules -------------------------------------------------------------
    def add(self, body: dict) -> FaultRule:
        rule = FaultRule.parse(body)
        with self._lock:
            self._rules.append(rule)
        return rule

    def _wake_sleepers(self) -> None:
        """Under the lock: ends every latency sleep in progress."""
        self._wake.set()
        self._wake = threading.Event()

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict]:
        now = time.monotonic()
        with self._lock:
            return [dict(r.source, id=r.id, active=r.active(now), remaining=r.remaining) for r in self._rules]

    def set_limits(self, **limits) -> dict:
        """Change some limits (0 or None switches one off); raises ValueError for unknown names."""
        unknown = set(limits) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        with self._lock:
            for name in DEFAULT_LIMITS:
                if name in limits:
                    value = limits[name]
                    self.limits[name] = None if value is None else (float(value) if name == "window_s" else int(value))
            return dict(self.limits)

    def reset(self) -> None:
        """Back to no rules, default limits, nothing in flight counted as recent."""
        with self._lock:
            self._rules.clear()
            self._recent.clear()
            self.limits = dict(DEFAULT_LIMITS)
            self._wake_sleepers()

    # -- per request -------------------------------------------------------
    def check(self, method: str, path: str, mailbox: str | None = None, token_checked: bool = False) -> Fault | None:
        """The fault this request gets, if any; sleeps here for latency rules.

        `path` includes the /v1.0 prefix (for batch inner requests, prefix it).
        `token_checked`: the token was already judged for this request (a `$batch`
        part, see `check_batch_token`), so "expired_token" rules are not consulted.
        A request that passes is counted against the mailbox request window.
        """
        now = time.monotonic()
        delay_ms = 0
        fault = None
        with self._lock:
            wake = self._wake
            for rule in self._rules:
                if token_checked and rule.kind == "expired_token":
                    continue
                if rule.fire(method, path, now):
                    if rule.kind == "latency":
                        delay_ms += rule.latency_ms
                        continue
                    fault = Fault(rule.kind, rule.retry_after, rule.latency_ms, rule.id, rule.after_bytes)
                    break
            if fault is None and mailbox:
                fault = self._count_in_window(mailbox, now)
        if delay_ms:
            wake.wait(delay_ms / 1000)
        return fault

    def check_token(self, token: str) -> Fault | None:
        """The "expired_token" fault for a request bearing `token`, if a rule names it."""
        now = time.monotonic()
        with self._lock:
            for rule in self._rules:
                if rule.token is not None and rule.fire("", "", now, token):
                    return Fault(rule.kind, rule.retry_after, rule.latency_ms, rule.id)
        return None

    def check_batch_token(self, parts: list[tuple[str, str]]) -> Fault | None:
        """The "expired_token" fault a `$batch` gets for its inner (method, path) parts.

        Graph checks the bearer token once, on the outer request, so a path rule that
        matches any part refuses the whole batch, and counts as one request.
        """
        now = time.monotonic()
        with self._lock:
            for rule in self._rules:
                if rule.kind != "expired_token" or rule.token is not None or not rule.active(now):
                    continue
                if any(rule.matches(method, path) for method, path in parts) and rule._strike():
                    return Fault(rule.kind, rule.retry_after, rule.latency_ms, rule.id)
        return None

    def _count_in_window(self, mailbox: str, now: float) -> Fault | None:
        limit, window = self.limits["mailbox_requests_per_window"], self.limits["window_s"]
        if not limit:
            return None
        recent = self._recent[mailbox]
        while recent and recent[0] <= now - window:
            recent.popleft()
        if len(recent) >= limit:
            return Fault("mailbox_rate", retry_after=max(1, int(recent[0] + window - now + 0.999)))
        recent.append(now)
        return None

    def acquire(self, mailbox: str | None) -> Fault | None:
        """Take one of the mailbox's concurrent-request slots, or a 429 when none is free.

        Call `release(mailbox)` afterwards only when this returned None.
        """
        if not mailbox:
            return None
        with self._lock:
            limit = self.limits["mailbox_concurrency"]
            if limit and self._in_flight[mailbox] >= limit:
                return Fault("mailbox_concurrency", retry_after=1)
            self._in_flight[mailbox] += 1
        return None

    def release(self, mailbox: str | None) -> None:
        if not mailbox:
            return
        with self._lock:
            self._in_flight[mailbox] -= 1
            if self._in_flight[mailbox] <= 0:
                del self._in_flight[mailbox]
