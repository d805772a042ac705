"""Each mailbox's request budget, spent by a client-side pacer instead of running into 429.

Outlook lets one app send 10,000 requests per 10 minutes to one mailbox, every `$batch`
part counted (`Budget`: GRAPH_MAILBOX_BUDGET per GRAPH_MAILBOX_BUDGET_WINDOW_S). The
pacer keeps the count Outlook keeps, over the same sliding window: a request goes when
the requests of the last window plus its own cost fit the allowance; otherwise it waits
until enough of the oldest have left the window. A bulk job therefore spends the budget
in full and never more: it runs at the limit's speed without meeting a 429, instead of
overrunning the budget and waiting out a Retry-After rounded up to whole seconds.

- Background work (jobs; server/workload.py) fills a window only up to the budget minus
  the interactive reserve (GRAPH_INTERACTIVE_RESERVE, a share of it); interactive
  requests (the pane, the pages) may use all of it. So a pane request finds room even
  while a bulk job keeps the mailbox's budget saturated.
- A request counts from the moment it is let go until one window after its answer
  arrived: Graph counted it somewhere in between (the parts of a `$batch` one after
  another), so the pacer never counts a request as gone before Graph does.
- `mailbox_pacer(mailbox, budget, redis_url)`: without Redis, a log in this process
  (`LocalPacer`); with REDIS_URL, a sorted set in Redis shared by every web and worker
  process (`RedisPacer`: one Lua script decides, on Redis's clock), falling back to this
  process's own log while Redis cannot be reached.
- A wait longer than the caller's budget (GRAPH_MAX_WAIT_S) is not slept: Throttled
  (`MailboxBudget`, with `retry_after`) goes to the caller at once, as a long Retry-After
  does, and a job runs again then, from its cursor.

A 429 that Graph still answers is honoured by the transport as before and counted here
(`throttled_count`).
"""

from __future__ import annotations

import collections
import itertools
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import Throttled

log = logging.getLogger(__name__)

KEY_PREFIX = "crm:graph-budget:"
OUTLOOK_LIMIT, OUTLOOK_WINDOW_S = 10_000, 600.0
WAKE_JITTER_S = 0.002  # waiters woken together do not all ask at the same instant


@dataclass(frozen=True)
class Budget:
    """`limit` requests per sliding `window_s` per mailbox; background work leaves
    `reserve` (a share, 0..1) of them to interactive requests."""

    limit: int = OUTLOOK_LIMIT
    window_s: float = OUTLOOK_WINDOW_S
    reserve: float = 0.0

    @classmethod
    def from_config(cls, config: Mapping) -> Budget | None:
        """The budget the settings give; None when GRAPH_MAILBOX_BUDGET is 0 (no pacing)."""
        limit = int(config.get("GRAPH_MAILBOX_BUDGET") or 0)
        if limit <= 0:
            return None
        return cls(
            limit,
            float(config.get("GRAPH_MAILBOX_BUDGET_WINDOW_S") or OUTLOOK_WINDOW_S),
            float(config.get("GRAPH_INTERACTIVE_RESERVE") or 0.0),
        )

    def allowance(self, background: bool) -> int:
        """How much of a window this kind of work may fill."""
        if not background:
            return self.limit
        kept = math.ceil(self.limit * min(max(self.reserve, 0.0), 1.0))
        return max(1, self.limit - kept)


def request_cost(url: str, json) -> int:
    """What a request counts against its mailbox's budget: each part of a `$batch`, else 1."""
    if url.split("?", 1)[0].endswith("/$batch") and isinstance(json, dict):
        return max(1, len(json.get("requests") or ()))
    return 1


# -- 429s that happened anyway -------------------------------------------------------------

_throttled = collections.Counter()
_throttled_lock = threading.Lock()


def record_throttled(mailbox: str | None, count: int = 1) -> None:
    """Counts 429s Graph answered (to requests and to `$batch` parts) in this process."""
    with _throttled_lock:
        _throttled[(mailbox or "").lower()] += count


_waited = [0, 0.0]  # waits, seconds


def waited() -> tuple[int, float]:
    """How often requests in this process waited for a budget, and how long in all (s)."""
    with _throttled_lock:
        return _waited[0], _waited[1]


def throttled_count(mailbox: str | None = None) -> int:
    """429s counted in this process: for one mailbox, or in all."""
    with _throttled_lock:
        if mailbox is None:
            return sum(_throttled.values())
        return _throttled[mailbox.lower()]


# -- the pacers ----------------------------------------------------------------------------


class Spent:
    """What one request took from the budget (`cost` units): `settle()` once its answer
    arrived (it then counts for one more window), `refund()` when it was never sent."""

    def __init__(self, cost: int, settle: Callable[[], None], refund: Callable[[], None]):
        self.cost = cost
        self._settle, self._refund, self._open = settle, refund, True

    def settle(self) -> None:
        if self._open:
            self._open = False
            self._settle()

    def refund(self) -> None:
        if self._open:
            self._open = False
            self._refund()


def _spend(try_spend, cost: int, background: bool, timeout: float, partial: bool, sleep, clock) -> Spent:
    """Waits until `try_spend` lets the request go; raises Throttled when that would take
    longer than `timeout` seconds."""
    end = clock() + max(0.0, timeout)
    while True:
        spent, wait = try_spend(cost, background, partial)
        if spent is not None:
            return spent
        left = end - clock()
        if wait > left:
            raise Throttled(
                429,
                "MailboxBudget",
                f"The request budget of this mailbox is spent for the next {math.ceil(wait)} s",
                retry_after=max(1, math.ceil(wait)),
            )
        pause = wait + random.uniform(0, WAKE_JITTER_S)
        with _throttled_lock:
            _waited[0] += 1
            _waited[1] += pause
        sleep(pause)


class LocalPacer:
    """One mailbox's budget in this process only."""

    def __init__(
        self,
        mailbox: str,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.mailbox = mailbox
        self.budget = budget
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._answered: collections.deque[tuple[float, int]] = collections.deque()  # (when, cost), in order
        self._in_flight: dict[int, int] = {}
        self._ids = itertools.count()
        self._used = 0

    def used(self) -> int:
        """What the window holds now (requests in flight included)."""
        with self._lock:
            self._forget(self.clock())
            return self._used

    def spend(self, cost: int, background: bool, timeout: float, partial: bool = False) -> Spent:
        """Takes `cost` units, waiting up to `timeout` s for them; with `partial`, as many
        of them as are free once at least one is (`Spent.cost` says how many)."""
        return _spend(self.try_spend, cost, background, timeout, partial, self.sleep, self.clock)

    def try_spend(self, cost: int, background: bool, partial: bool = False) -> tuple[Spent | None, float]:
        """(Spent, 0) when the request may go now, else (None, seconds to wait)."""
        allowance = self.budget.allowance(background)
        cost = min(max(1, cost), allowance)
        with self._lock:
            now = self.clock()
            self._forget(now)
            if partial:  # as much as there is room for, waiting only for the first unit
                cost = max(1, min(cost, allowance - self._used))
            if self._used + cost <= allowance:
                ticket = next(self._ids)
                self._in_flight[ticket] = cost
                self._used += cost
                return Spent(cost, lambda: self._settle(ticket), lambda: self._refund(ticket)), 0.0
            need, freed = self._used + cost - allowance, 0
            for when, spent in self._answered:
                freed += spent
                if freed >= need:
                    return None, max(0.001, when + self.budget.window_s - now)
            # The rest is in flight: it leaves a window after its answer, at the earliest.
            return None, self.budget.window_s

    def _forget(self, now: float) -> None:
        window = self.budget.window_s
        while self._answered and self._answered[0][0] <= now - window:
            self._used -= self._answered.popleft()[1]

    def _settle(self, ticket: int) -> None:
        with self._lock:
            cost = self._in_flight.pop(ticket, 0)
            if cost:
                self._answered.append((self.clock(), cost))

    def _refund(self, ticket: int) -> None:
        with self._lock:
            self._used -= self._in_flight.pop(ticket, 0)


# KEYS[1] the mailbox's sorted set (a member per unit of cost, scored in ms on Redis's
# clock); ARGV: window ms, allowance, cost, ticket, partial (1: take what is free).
# Answers {0, units added for the ticket}, else {milliseconds until enough units leave
# the window, 0}.
_SPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local allowance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if ARGV[5] == '1' then
  cost = math.max(1, math.min(cost, allowance - used))
end
if used + cost <= allowance then
  for i = 1, cost do
    redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], 2 * window + 60000)
  return {0, cost}
end
local entry = redis.call('ZRANGE', KEYS[1], used + cost - allowance - 1, used + cost - allowance - 1, 'WITHSCORES')
return {math.max(1, tonumber(entry[2]) + window - now), 0}
"""

# KEYS[1]; ARGV: window ms, ticket, cost. The ticket's units now count from this moment
# (rounded up to the next millisecond).
_SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + 1
for i = 1, tonumber(ARGV[3]) do
  redis.call('ZADD', KEYS[1], 'XX', now, ARGV[2] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]) + 60000)
return 1
"""


class RedisPacer:
    """One mailbox's budget, shared through Redis by every process using it."""

    def __init__(
        self,
        redis,
        mailbox: str,
        budget: Budget,
        *,
        fallback: LocalPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.redis = redis
        self.mailbox = mailbox
        self.budget = budget
        self.key = KEY_PREFIX + mailbox
        self.window_ms = max(1, int(budget.window_s * 1000))
        self.sleep = sleep
        self.clock = clock
        self._spend_script = redis.register_script(_SPEND)
        self._settle_script = redis.register_script(_SETTLE)
        # While Redis cannot be reached, this process's own count still applies.
        self.fallback = fallback or LocalPacer(mailbox, budget)

    def used(self) -> int:
        """Units in the window now (expired ones included until the next spend)."""
        return int(self.redis.zcard(self.key))

    def spend(self, cost: int, background: bool, timeout: float, partial: bool = False) -> Spent:
        """Takes `cost` units, waiting up to `timeout` s for them; with `partial`, as many
        of them as are free once at least one is (`Spent.cost` says how many)."""
        return _spend(self.try_spend, cost, background, timeout, partial, self.sleep, self.clock)

    def try_spend(self, cost: int, background: bool, partial: bool = False) -> tuple[Spent | None, float]:
        from redis.exceptions import RedisError  # redis is loaded only where REDIS_URL is set

        allowance = self.budget.allowance(background)
        cost = min(max(1, cost), allowance)
        ticket = uuid.uuid4().hex
        try:
            wait_ms, cost = self._spend_script(
                keys=[self.key], args=[self.window_ms, allowance, cost, ticket, 1 if partial else 0]
            )
        except RedisError as exc:
            log.warning("mailbox budget in Redis unavailable (%r): pacing this process only", exc)
            return self.fallback.try_spend(cost, background, partial)
        if wait_ms:
            return None, int(wait_ms) / 1000
        cost = int(cost)
        return Spent(cost, lambda: self._settle(ticket, cost), lambda: self._refund(ticket, cost)), 0.0

    def _settle(self, ticket: str, cost: int) -> None:
        try:
            self._settle_script(keys=[self.key], args=[self.window_ms, ticket, cost])
        except Exception as exc:  # redis errors: the units then leave a little early
            log.warning("mailbox budget settle %s: %r", self.mailbox, exc)

    def _refund(self, ticket: str, cost: int) -> None:
        try:
            self.redis.zrem(self.key, *(f"{ticket}:{i}" for i in range(1, cost + 1)))
        except Exception as exc:  # redis errors: the units leave with the window
            log.warning("mailbox budget refund %s: %r", self.mailbox, exc)


Pacer = LocalPacer | RedisPacer

_lock = threading.Lock()
_local: dict[tuple[str, Budget], LocalPacer] = {}
_shared: dict[tuple[str, str, Budget], RedisPacer] = {}


def mailbox_pacer(mailbox: str, budget: Budget, redis_url: str | None = None, *, redis_client=None) -> Pacer:
    """The pacer of `mailbox`'s budget: shared through Redis when `redis_url` is given
    (`redis_client` is that URL's client), else this process's own. One per mailbox."""
    key = mailbox.lower()
    with _lock:
        local = _local.get((key, budget))
        if local is None:
            local = _local[(key, budget)] = LocalPacer(key, budget)
        if not redis_url:
            return local
        shared = _shared.get((redis_url, key, budget))
        if shared is None:
            shared = _shared[(redis_url, key, budget)] = RedisPacer(redis_client, key, budget, fallback=local)
        return shared
