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
- In Redis, background requests that must wait are served first come, first served,
  across processes: such a request joins the mailbox's line (a second sorted set, by
  when it first asked, under one waiter id for all its tries), and goes only when the
  units the waiters ahead of it need (each one's cost, a batch that takes what is free
  counting 1) plus its own fit what is free. Its wait runs to the unit that frees its own
  place, so waiters wake one by one instead of as a herd for the same unit. Without the
  line, whoever reached Redis first took each freed unit, and a process slower to wake
  (a loaded machine) lost nearly every race: one job starved another on the mailbox.
  Each try sets the waiter's deadline, its next try plus a grace (LINE_GRACE_S): a
  waiter not seen by then (its process died) is dropped, and joins at the end if it
  comes back; a request refused with Throttled leaves at once. Interactive requests
  never queue: they go whenever the budget has room, as the reserve promises.
- A wait longer than the caller's budget (GRAPH_MAX_WAIT_S) is not slept: Throttled
  (`MailboxBudget`, with `retry_after`) goes to the caller at once, as a long Retry-After
  does, and a job runs again then, from its cursor.

A 429 that Graph still answers is honoured by the transport and counted here
(`throttled_count`); its Retry-After also holds the mailbox's background work back
(`hold`: in Redis, in every process), so jobs wait it out instead of each meeting a 429.
Interactive requests are not held: a job's 429 never makes the pane wait.
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
# How long past its expected next try a waiter keeps its place in line (Redis): well
# beyond a loaded machine's lag in waking a thread (tens to hundreds of ms), so a slow
# process is not sent to the back, yet short beside Outlook's 10-minute window, so a
# waiter whose process died holds the line up for about a second at most.
LINE_GRACE_S = 1.0
# How long a unit in flight is kept in Redis's count without its answer: far beyond any
# request's timeouts, so only a process that died mid-request leaves units this long.
IN_FLIGHT_HOLD_S = 300.0


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


def _spend(try_spend, cost: int, background: bool, timeout: float, partial: bool, sleep, clock, leave=None) -> Spent:
    """Waits until `try_spend` lets the request go; raises Throttled when that would take
    longer than `timeout` seconds (first calling `leave`: the request gives up its place)."""
    end = clock() + max(0.0, timeout)
    while True:
        spent, wait = try_spend(cost, background, partial)
        if spent is not None:
            return spent
        left = end - clock()
        if wait > left:
            if leave is not None:
                leave()
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
        self._held_until = 0.0

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
            if background and now < self._held_until:  # Graph answered 429: jobs wait it out
                return None, self._held_until - now
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

    def hold(self, seconds: float) -> None:
        """Graph answered 429 with this Retry-After: no background request of the mailbox
        goes before it has passed (each would only meet another 429). Interactive ones
        still may: the pane answers its user with its own 429 rather than wait for a job's."""
        with self._lock:
            self._held_until = max(self._held_until, self.clock() + max(0.0, seconds))

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


# KEYS: the mailbox's units (a sorted set: a member per unit of cost, scored in ms on
# Redis's clock), its line of waiters (a sorted set: waiter -> when it joined, in µs), their
# deadlines (a sorted set: waiter -> ms), what each one needs (a hash: waiter -> units) and
# its hold (a key that lives as long as Graph's last Retry-After).
# ARGV: window ms, allowance, cost, ticket, partial (1: take what is free), background
# (1: queue behind the line), waiter, grace ms, in-flight hold ms.
# Answers {0, units added for the ticket}, else {milliseconds until the unit that frees
# this request's place leaves the window, 0}.
_SPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local allowance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local waiter = ARGV[7]
local keep = 2 * window + 60000
local held = -2  -- Graph answered 429: background work waits until it passes
if ARGV[6] == '1' then held = redis.call('PTTL', KEYS[5]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local ahead = 0
local rank = false
if ARGV[6] == '1' then
  local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  for i = 1, #gone do
    redis.call('ZREM', KEYS[2], gone[i])
    redis.call('ZREM', KEYS[3], gone[i])
    redis.call('HDEL', KEYS[4], gone[i])
  end
  rank = redis.call('ZRANK', KEYS[2], waiter)
  local before = {}
  if rank == false then
    before = redis.call('ZRANGE', KEYS[2], 0, -1)
  elseif rank > 0 then
    before = redis.call('ZRANGE', KEYS[2], 0, rank - 1)
  end
  for i = 1, #before do
    ahead = ahead + math.max(1, tonumber(redis.call('HGET', KEYS[4], before[i]) or '1'))
  end
end
if ARGV[5] == '1' then
  cost = math.max(1, math.min(cost, allowance - used - ahead))
end
if held <= 0 and used + ahead + cost <= allowance then
  -- In flight until settled: scored ahead (IN_FLIGHT_HOLD_S), so the purge above cannot
  -- drop a unit whose request is still going (one slower than a window left early).
  for i = 1, cost do
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[9]), ARGV[4] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], keep)
  if ARGV[6] == '1' then
    redis.call('ZREM', KEYS[2], waiter)
    redis.call('ZREM', KEYS[3], waiter)
    redis.call('HDEL', KEYS[4], waiter)
  end
  return {0, cost}
end
local wait = window
local place = used + ahead + cost - allowance
if place <= 0 then  -- room, but held
  wait = held
elseif place <= used then
  local entry = redis.call('ZRANGE', KEYS[1], place - 1, place - 1, 'WITHSCORES')
  local score = tonumber(entry[2])
  if score <= now then  -- answered: it leaves a window after its answer
    wait = math.max(1, score + window - now)
  end  -- else in flight: a window after its answer, at the earliest
end
wait = math.max(wait, held)
if ARGV[6] == '1' then
  if rank == false then  -- it joins at the end: after the last, even in the same microsecond
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    local joined = tonumber(t[1]) * 1000000 + tonumber(t[2])
    if #last > 0 then joined = math.max(joined, tonumber(last[2]) + 1) end
    redis.call('ZADD', KEYS[2], joined, waiter)
  end
  redis.call('ZADD', KEYS[3], now + wait + tonumber(ARGV[8]), waiter)
  if ARGV[5] == '1' then
    redis.call('HSET', KEYS[4], waiter, 1)
  else
    redis.call('HSET', KEYS[4], waiter, cost)
  end
  redis.call('PEXPIRE', KEYS[2], keep)
  redis.call('PEXPIRE', KEYS[3], keep)
  redis.call('PEXPIRE', KEYS[4], keep)
end
return {wait, 0}
"""

# KEYS[1] the hold; ARGV: ms. Holds that long, or longer if a hold is already longer.
_HOLD = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[1]))
end
return 1
"""

# KEYS: the line, the deadlines, the needs; ARGV: waiter. It leaves the line.
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""

# KEYS[1]; ARGV: window ms, ticket, cost. The ticket's units now count from this moment
# (rounded up to the next millisecond), added again if they had gone (a request in flight
# past IN_FLIGHT_HOLD_S): they still count a window from its answer.
_SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + 1
for i = 1, tonumber(ARGV[3]) do
  redis.call('ZADD', KEYS[1], now, ARGV[2] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]) + 60000)
return 1
"""


class RedisPacer:
    """One mailbox's budget, shared through Redis by every process using it; background
    requests that must wait are served in the order they first asked."""

    def __init__(
        self,
        redis,
        mailbox: str,
        budget: Budget,
        *,
        fallback: LocalPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        grace_s: float = LINE_GRACE_S,
    ):
        self.redis = redis
        self.mailbox = mailbox
        self.budget = budget
        self.key = KEY_PREFIX + mailbox
        self.line_keys = [f"{self.key}:line", f"{self.key}:line-due", f"{self.key}:line-needs"]
        self.hold_key = f"{self.key}:hold"
        self.window_ms = max(1, int(budget.window_s * 1000))
        self.grace_ms = max(1, int(grace_s * 1000))
        self.sleep = sleep
        self.clock = clock
        self._spend_script = redis.register_script(_SPEND)
        self._settle_script = redis.register_script(_SETTLE)
        self._leave_script = redis.register_script(_LEAVE)
        self._hold_script = redis.register_script(_HOLD)
        # While Redis cannot be reached, this process's own count still applies.
        self.fallback = fallback or LocalPacer(mailbox, budget)

    def used(self) -> int:
        """Units in the window now (expired ones included until the next spend)."""
        return int(self.redis.zcard(self.key))

    def line(self) -> list[str]:
        """The waiters in line now, first first (those past their deadline included until
        the next background spend)."""
        return [w.decode() if isinstance(w, bytes) else w for w in self.redis.zrange(self.line_keys[0], 0, -1)]

    def spend(self, cost: int, background: bool, timeout: float, partial: bool = False) -> Spent:
        """Takes `cost` units, waiting up to `timeout` s for them; with `partial`, as many
        of them as are free once at least one is (`Spent.cost` says how many). A
        background request keeps one place in line across its tries, and gives it up when
        it is refused (Throttled)."""
        waiter = uuid.uuid4().hex

        def attempt(cost: int, background: bool, partial: bool) -> tuple[Spent | None, float]:
            return self.try_spend(cost, background, partial, waiter=waiter)

        return _spend(attempt, cost, background, timeout, partial, self.sleep, self.clock, lambda: self.leave(waiter))

    def try_spend(
        self, cost: int, background: bool, partial: bool = False, *, waiter: str | None = None
    ) -> tuple[Spent | None, float]:
        """(Spent, 0) when the request may go now, else (None, seconds to wait). A
        background request that must wait takes a place in line as `waiter` (the same id
        on every try of one request; a fresh one when not given) until it goes, leaves,
        or is not seen again by its deadline (its next try plus the grace)."""
        from redis.exceptions import RedisError  # redis is loaded only where REDIS_URL is set

        allowance = self.budget.allowance(background)
        cost = min(max(1, cost), allowance)
        ticket = uuid.uuid4().hex
        args = [self.window_ms, allowance, cost, ticket, 1 if partial else 0, 1 if background else 0]
        try:
            wait_ms, cost = self._spend_script(
                keys=[self.key, *self.line_keys, self.hold_key],
                args=[*args, waiter or uuid.uuid4().hex, self.grace_ms, int(IN_FLIGHT_HOLD_S * 1000)],
            )
        except RedisError as exc:
            log.warning("mailbox budget in Redis unavailable (%r): pacing this process only", exc)
            return self.fallback.try_spend(cost, background, partial)
        if wait_ms:
            return None, int(wait_ms) / 1000
        cost = int(cost)
        return Spent(cost, lambda: self._settle(ticket, cost), lambda: self._refund(ticket, cost)), 0.0

    def hold(self, seconds: float) -> None:
        """Graph answered 429 with this Retry-After: no process sends a background request
        of the mailbox before it has passed (each would only meet another 429)."""
        self.fallback.hold(seconds)
        ms = int(max(0.0, seconds) * 1000)
        if ms <= 0:
            return
        try:
            self._hold_script(keys=[self.hold_key], args=[ms])
        except Exception as exc:  # redis errors: this process holds back still (fallback)
            log.warning("mailbox budget hold %s: %r", self.mailbox, exc)

    def leave(self, waiter: str) -> None:
        """`waiter` gives up its place in line (its request will not be sent)."""
        try:
            self._leave_script(keys=self.line_keys, args=[waiter])
        except Exception as exc:  # redis errors: the place lapses at its deadline
            log.warning("mailbox budget line %s: %r", self.mailbox, exc)

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


def reset_pacers() -> None:
    """Forgets every pacer of this process, with their counts and holds (Redis keeps its
    own): for a process that starts over against a Graph that did, as tests do."""
    with _lock:
        _local.clear()
        _shared.clear()
