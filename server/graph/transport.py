"""The one HTTP transport to Graph and its one retry policy.

Every request: `Prefer: IdType="ImmutableId"` (merged with any other Prefer value),
`Authorization: Bearer <token_provider()>`, `(connect, read)` timeouts.
Retried: 429, 503, 504, connection errors and timeouts (read timeouts and dropped
connections only when repeating the request is harmless), honouring Retry-After
(seconds or HTTP-date), else capped exponential backoff with jitter; all within one
wait budget (`max_wait_s`) per logical call. A Retry-After longer than what is left of
the budget is raised at once (Throttled/Unavailable with `retry_after`) without
sleeping, so the API can tell the pane when to come back instead of holding a worker.

A refused token is replaced once per logical call: on a 401, or a 403 that says the
token lacks a permission (ErrorAccessDenied, Authorization_RequestDenied), the token
provider is asked again while `refused_token()` names the refused token. A provider
that caches tokens drops that one and fetches a fresh token (see
server/auth/graph_tokens.py); if it answers the same token (it has nothing better), the
error is raised as it came.

Requests to one mailbox (`slots`, see slots.py) are bounded across threads, and across
processes when Redis is configured, to Outlook's 4 concurrent requests per mailbox, and
paced (`pacer`, see pacer.py) to its request budget: each attempt first waits its turn
in the budget (a `$batch` costs one per part), then takes a slot, then goes. Background
work (server/workload.py) keeps a share of both for interactive requests.

The requests go out through wire.py's lean HTTP client (one per session, trusting what
the session trusts), whose exceptions say whether a failed request may have left.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import requests

from server.workload import is_background

from .errors import GraphError, GraphTimeout, Unavailable, error_for, error_from_body, parse_retry_after
from .pacer import Pacer, Spent, record_throttled, request_cost
from .slots import MAILBOX_CONCURRENCY, MailboxSlots, mailbox_slots
from .wire import NotSent, ReadTimeout, RequestFailed, TlsError, WireError, WireResponse, wire_for

log = logging.getLogger(__name__)

IMMUTABLE_IDS = 'IdType="ImmutableId"'
RETRY_STATUSES = frozenset({429, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
DEFAULT_TIMEOUT = (3.05, 15.0)
# 403 codes that mean "this token lacks a permission": a fresh token may carry it
# (admin consent granted since the cached one was issued).
PERMISSION_DENIED_CODES = frozenset({"erroraccessdenied", "authorization_requestdenied"})

__all__ = [
    "Transport",
    "Deadline",
    "RefusedToken",
    "refused_token",
    "mailbox_slots",
    "MAILBOX_CONCURRENCY",
    "parse_retry_after",
    "parse_timeout",
    "merge_prefer",
    "IMMUTABLE_IDS",
    "RETRY_STATUSES",
    "DEFAULT_TIMEOUT",
]


@dataclass(frozen=True)
class RefusedToken:
    """A token Graph refused: 401 (not accepted at all) or 403 (lacks a permission)."""

    token: str = ""
    status: int = 401


_refused: ContextVar[RefusedToken | None] = ContextVar("graph_refused_token", default=None)


def refused_token() -> RefusedToken | None:
    """The token Graph just refused, while the transport asks its token provider for a
    replacement; None otherwise. A provider must then not answer that token from its
    cache; answering it anyway means "nothing better", and the error stands."""
    return _refused.get()


def parse_timeout(value) -> tuple[float, float]:
    """(connect, read) from GRAPH_TIMEOUT_S: a number (read; connect at most 5 s),
    "connect,read", or a pair."""
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    if isinstance(value, (tuple, list)):
        connect, read = (float(v) for v in value)
        return connect, read
    if isinstance(value, str) and "," in value:
        connect, read = (float(v) for v in value.split(",", 1))
        return connect, read
    read = float(value)
    return min(5.0, read), read


def merge_prefer(*values: str | Iterable[str] | None) -> str:
    """One Prefer header from several preferences, IdType ImmutableId always first."""
    prefs = [IMMUTABLE_IDS]
    for value in values:
        if not value:
            continue
        items = [value] if isinstance(value, str) else list(value)
        for item in items:
            for part in str(item).split(","):
                part = part.strip()
                name = part.split("=", 1)[0].strip().lower()
                if part and all(p.split("=", 1)[0].strip().lower() != name for p in prefs):
                    prefs.append(part)
    return ", ".join(prefs)


class Deadline:
    """The wait budget of one logical call (its retries share it)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.end = clock() + max(0.0, float(seconds))

    def remaining(self) -> float:
        return max(0.0, self.end - self._clock())


class Transport:
    """Sends one HTTP request to Graph with the retry policy above."""

    def __init__(
        self,
        session: requests.Session,
        token_provider: Callable[[], str],
        *,
        timeout=DEFAULT_TIMEOUT,
        max_wait_s: float = 10.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        slots: MailboxSlots | None = None,
        pacer: Pacer | None = None,
        mailbox: str | None = None,
    ):
        self.session = session
        self.wire = wire_for(session)  # Graph's own HTTP client, trusting what the session trusts
        self.slots = slots
        self.pacer = pacer
        self.mailbox = mailbox  # whose budget and slots (for the count of 429s)
        self.token_provider = token_provider
        self.timeout = parse_timeout(timeout)
        self.max_wait_s = float(max_wait_s)
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.sleep = sleep
        self.clock = clock

    def deadline(self) -> Deadline:
        return Deadline(self.max_wait_s, self.clock)

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter (half fixed, half random)."""
        delay = min(self.backoff_cap_s, self.backoff_base_s * (2**attempt))
        return delay / 2 + random.uniform(0, delay / 2)

    def headers(self, extra: Mapping[str, str] | None = None, prefer=None, token: str | None = None) -> dict:
        headers = {"Accept": "application/json"}
        extra_prefer = None
        for key, value in (extra or {}).items():
            if key.lower() == "prefer":
                extra_prefer = value
            else:
                headers[key] = value
        headers["Prefer"] = merge_prefer(extra_prefer, prefer)
        headers["Authorization"] = f"Bearer {token if token is not None else self.token_provider()}"
        return headers

    def replacement_token(self, token: str, status: int) -> str | None:
        """A new token from the provider for one Graph refused, or None when it has none."""
        reset = _refused.set(RefusedToken(token, status))
        try:
            fresh = self.token_provider()
        finally:
            _refused.reset(reset)
        return fresh if fresh and fresh != token else None

    def pay(self, cost: int, deadline: Deadline, partial: bool = False) -> Spent | None:
        """Takes `cost` units of the mailbox's budget ahead of a request (None without a
        pacer); with `partial`, as many as are free once one is (`Spent.cost`), so a
        `$batch` can send that many parts now rather than wait for all. Hand the result
        to `request(paid=...)`. Raises Throttled when the wait would outlast `deadline`."""
        if self.pacer is None:
            return None
        return self.pacer.spend(cost, is_background(), deadline.remaining(), partial)

    def _slot(self, deadline: Deadline, background: bool):
        """Hold one of the mailbox's slots for one request (never while sleeping). The
        wait is bounded: past it, Throttled (retry_after set) goes to the caller."""
        if self.slots is None:
            return contextlib.nullcontext()
        connect, read = self.timeout
        # A holder keeps a slot for at most about connect + read seconds.
        return self.slots.hold(deadline.remaining() + connect + read, background)

    def request(
        self,
        method: str,
        url: str,
        *,
        params=None,
        json=None,
        headers: Mapping[str, str] | None = None,
        prefer=None,
        idempotent: bool | None = None,
        deadline: Deadline | None = None,
        stream: bool = False,
        paid: Spent | None = None,
    ) -> WireResponse:
        """Send one request; return the 2xx response.

        `paid`: the budget `pay` took for the first attempt (retries pay again).

        With `stream`, the body is not read here: the caller reads it (`iter_content`)
        and must close the response, which frees the mailbox's slot the body held.
        The retry policy covers the request until its status and headers arrive; a
        body that breaks off later is the caller's to handle.

        Raises a GraphError subclass: the mapped Graph error, Throttled/Unavailable/
        GraphTimeout (with retry_after when known) once retrying would exceed the
        wait budget, Unavailable when Graph cannot be reached, GraphTimeout when it
        does not answer in time, Throttled when no slot of the mailbox frees up in time.
        What the token provider raises (e.g. ApiError) passes through.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        deadline = deadline or self.deadline()
        cost = request_cost(url, json)
        request_id = str(uuid.uuid4())  # the same on every retry, for Graph's logs
        attempt = 0
        token = None  # the replacement for a refused token, once
        renewed = False
        while True:
            connect, read = self.timeout
            if attempt:
                # A retry may not outlive the budget by much: a hanging Graph must end
                # in a 504 well before the web worker's own timeout.
                read = min(read, max(deadline.remaining(), 1.0))
            sent_headers = self.headers(headers, prefer, token)
            sent_headers["client-request-id"] = request_id
            prepaid, paid = paid, None  # only the first attempt was paid for ahead
            try:
                response = self._send(
                    deadline,
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=sent_headers,
                    timeout=(connect, read),
                    stream=stream,
                    cost=cost,
                    paid=prepaid,
                )
            except TlsError as exc:
                # Not transient: the certificate is not trusted (see CA_BUNDLE).
                log.error("graph %s %s: %r", method, _path(url), exc)
                raise Unavailable(None, "TlsError", "Graph's TLS certificate is not trusted (see CA_BUNDLE)") from exc
            except RequestFailed as exc:
                log.error("graph %s %s: %r", method, _path(url), exc)
                raise Unavailable(None, "RequestFailed", f"Graph request failed ({type(exc).__name__})") from exc
            except WireError as exc:
                # Details (host, path, query) go to the log, not into messages that
                # may reach API clients.
                log.warning("graph %s %s: %r", method, _path(url), exc)
                error = (
                    GraphTimeout(None, "Timeout", f"Graph did not answer within {read:g} s")
                    if isinstance(exc, ReadTimeout)
                    else Unavailable(None, "ServiceUnreachable", f"Graph could not be reached ({type(exc).__name__})")
                )
                if idempotent or isinstance(exc, NotSent):  # NotSent: the request never left
                    delay = self.backoff(attempt)
                    if delay <= deadline.remaining():
                        log.info("graph %s %s: %s; retry in %.2f s", method, _path(url), type(exc).__name__, delay)
                        self.sleep(delay)
                        attempt += 1
                        continue
                raise error from exc

            if response.status_code < 400:
                return response
            if response.status_code in RETRY_STATUSES:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = retry_after if retry_after is not None else self.backoff(attempt)
                if response.status_code == 429:
                    self.throttled(delay)
                if delay <= deadline.remaining():
                    log.info("graph %s %s: HTTP %s; retry in %.2f s", method, _path(url), response.status_code, delay)
                    response.close()
                    self.sleep(delay)
                    attempt += 1
                    continue
                error = self.error(response)
                error.retry_after = delay
                raise error
            error = self.error(response)
            if not renewed and (
                response.status_code == 401
                or (response.status_code == 403 and error.code.lower() in PERMISSION_DENIED_CODES)
            ):
                # A cached token Graph no longer accepts (expired early, revoked), or one
                # issued before admin consent added a permission: once per call.
                renewed = True
                sent_token = sent_headers["Authorization"].split(" ", 1)[1]
                token = self.replacement_token(sent_token, response.status_code)
                if token is not None:
                    log.info(
                        "graph %s %s: HTTP %s %s; retry with a new token",
                        method,
                        _path(url),
                        response.status_code,
                        error.code,
                    )
                    response.close()
                    continue
            raise error

    def _send(
        self,
        deadline: Deadline,
        method: str,
        url: str,
        *,
        stream: bool,
        cost: int = 1,
        paid: Spent | None = None,
        **kwargs,
    ) -> WireResponse:
        """One HTTP exchange, paid for from the mailbox's budget (waiting its turn there
        first) and holding one of the mailbox's slots: until the answer for a plain
        request, until the response is closed for a streamed 2xx body (Outlook counts a
        download in progress as a request in flight)."""
        background = is_background()
        spent = paid
        if spent is None and self.pacer is not None:
            spent = self.pacer.spend(cost, background, deadline.remaining())
        slot = self._slot(deadline, background)
        try:
            slot.__enter__()
        except BaseException:
            if spent is not None:
                spent.refund()  # never sent
            raise
        try:
            response = self.wire.request(method, url, stream=stream, **kwargs)
        except BaseException as exc:
            if spent is not None:
                spent.settle()
            slot.__exit__(type(exc), exc, exc.__traceback__)
            raise
        if spent is not None:
            spent.settle()  # Graph has counted it by now
        if not stream or response.status_code >= 400:
            slot.__exit__(None, None, None)
            return response
        close = response.close
        released = []

        def close_and_release() -> None:
            try:
                close()
            finally:
                if not released:
                    released.append(True)
                    slot.__exit__(None, None, None)

        response.close = close_and_release
        return response

    def throttled(self, delay: float, count: int = 1) -> None:
        """Graph answered 429 (`count` of them): counted, and the mailbox's other requests
        held back for the wait it asked (pacer.py `hold`)."""
        record_throttled(self.mailbox, count)
        if self.pacer is not None:
            self.pacer.hold(delay)

    def error(self, response: WireResponse) -> GraphError:
        """The typed error for a failed response."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if body is None:
            return error_for(
                response.status_code,
                None,
                None,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                request_id=response.headers.get("request-id"),
            )
        return error_from_body(response.status_code, body, response.headers)


def _path(url: str) -> str:
    """The URL without its query: ids in paths are fine in logs, filters may hold addresses."""
    return url.split("?", 1)[0]
