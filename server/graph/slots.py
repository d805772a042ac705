"""Outlook's limit of 4 concurrent requests per mailbox, as slots a request holds.

`mailbox_slots(mailbox, redis_url)` gives the slots of one mailbox:
- without Redis, a semaphore in this process (`LocalSlots`);
- with REDIS_URL, a counting semaphore in Redis shared by every process (`RedisSlots`):
  web workers and RQ workers on one mailbox together stay within the limit.

A Redis slot is a lease: a member of the sorted set `crm:graph-slots:<mailbox>` scored
with its expiry (Redis's own clock, so processes on other machines agree). A process
killed while holding one cannot leak it: the next acquire drops expired leases first.
Taking a slot is one Lua script (drop expired, count, add), so two processes never both
take the 4th. Waiting is polling with a short, growing sleep, bounded by the caller.

Both kinds offer `hold(timeout, background=False)`, a context manager that raises
Throttled (retry_after 1 s) when no slot frees up within `timeout` seconds. Background
work (jobs, see server/workload.py) holds at most `MAILBOX_CONCURRENCY -
INTERACTIVE_SLOTS` of them at once, so an interactive request (the pane) always finds
one free within one request's time instead of meeting Outlook's 429 for a 5th request.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Protocol

from .errors import Throttled

log = logging.getLogger(__name__)

MAILBOX_CONCURRENCY = 4  # Outlook's limit of concurrent requests per mailbox
INTERACTIVE_SLOTS = 1  # kept from background work for interactive requests
DEFAULT_LEASE_S = 60.0  # longer than any one request may hold a slot (its timeouts)
KEY_PREFIX = "crm:graph-slots:"
POLL_MIN_S, POLL_MAX_S = 0.005, 0.05

# KEYS[1] the mailbox's sorted set; ARGV: limit, lease in ms, holder id.
# Answers 1 when the holder got a slot, else 0.
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lease_ms = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + lease_ms, ARGV[3])
if redis.call('PTTL', KEYS[1]) < lease_ms then
  redis.call('PEXPIRE', KEYS[1], lease_ms)
end
return 1
"""


class MailboxSlots(Protocol):
    def hold(self, timeout: float, background: bool = False) -> contextlib.AbstractContextManager: ...


def slot_limit(limit: int, background: bool) -> int:
    """How many of `limit` slots this kind of work may hold at once."""
    return max(1, limit - INTERACTIVE_SLOTS) if background else limit


def _busy(mailbox: str) -> Throttled:
    return Throttled(
        429, "MailboxConcurrency", f"All {MAILBOX_CONCURRENCY} request slots of this mailbox stayed busy", retry_after=1
    )


class LocalSlots:
    """The slots of one mailbox in this process only."""

    def __init__(self, mailbox: str, limit: int = MAILBOX_CONCURRENCY):
        self.mailbox = mailbox
        self.limit = limit
        self.held = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, timeout: float, background: bool = False) -> Iterator[None]:
        """Raises Throttled when no slot frees up within `timeout` seconds."""
        limit = slot_limit(self.limit, background)
        with self._cond:
            if not self._cond.wait_for(lambda: self.held < limit, timeout=max(0.0, timeout)):
                raise _busy(self.mailbox)
            self.held += 1
        try:
            yield
        finally:
            with self._cond:
                self.held -= 1
                self._cond.notify_all()


class RedisSlots:
    """The slots of one mailbox, shared through Redis by every process using it."""

    def __init__(
        self,
        redis,
        mailbox: str,
        limit: int = MAILBOX_CONCURRENCY,
        lease_s: float = DEFAULT_LEASE_S,
        fallback: LocalSlots | None = None,
    ):
        self.redis = redis
        self.mailbox = mailbox
        self.key = KEY_PREFIX + mailbox
        self.limit = limit
        self.lease_ms = max(1, int(lease_s * 1000))
        self._acquire = redis.register_script(_ACQUIRE)
        # When Redis cannot be reached, this process's own limit still applies.
        self.fallback = fallback or LocalSlots(mailbox, limit)

    def try_acquire(self, holder: str, background: bool = False) -> bool:
        """Take a slot for `holder` if one is free now (raises redis errors)."""
        limit = slot_limit(self.limit, background)
        return bool(self._acquire(keys=[self.key], args=[limit, self.lease_ms, holder]))

    def release(self, holder: str) -> None:
        try:
            self.redis.zrem(self.key, holder)
        except Exception as exc:  # redis errors: the lease expires on its own
            log.warning("mailbox slot release %s: %r", self.mailbox, exc)

    def holders(self) -> int:
        """Leases currently counted (expired ones included until the next acquire)."""
        return int(self.redis.zcard(self.key))

    @contextlib.contextmanager
    def hold(self, timeout: float, background: bool = False) -> Iterator[None]:
        """Raises Throttled when no slot frees up within `timeout` seconds."""
        holder = uuid.uuid4().hex
        end = time.monotonic() + max(0.0, timeout)
        if not self._wait(holder, end, background):
            with self.fallback.hold(max(0.0, end - time.monotonic()), background):
                yield
            return
        try:
            yield
        finally:
            self.release(holder)

    def _wait(self, holder: str, end: float, background: bool = False) -> bool:
        """True once `holder` has a slot; False when Redis fails (use the fallback).
        Raises Throttled at `end` (monotonic)."""
        from redis.exceptions import RedisError  # redis is loaded only where REDIS_URL is set

        pause = POLL_MIN_S
        try:
            while not self.try_acquire(holder, background):
                left = end - time.monotonic()
                if left <= 0:
                    raise _busy(self.mailbox)
                time.sleep(min(left, random.uniform(pause / 2, pause)))
                pause = min(POLL_MAX_S, pause * 2)
        except RedisError as exc:
            log.warning("mailbox slots in Redis unavailable (%r): limiting this process only", exc)
            return False
        return True


_lock = threading.Lock()
_local: dict[str, LocalSlots] = {}
_shared: dict[tuple[str, str], RedisSlots] = {}
_clients: dict[str, object] = {}
_client_lock = threading.Lock()


def mailbox_slots(
    mailbox: str, redis_url: str | None = None, *, lease_s: float = DEFAULT_LEASE_S
) -> LocalSlots | RedisSlots:
    """The slots bounding concurrent requests to `mailbox`: shared through Redis when
    `redis_url` is given, else this process's own. One object per mailbox and URL."""
    key = mailbox.lower()
    with _lock:
        local = _local.get(key)
        if local is None:
            local = _local[key] = LocalSlots(key)
        if not redis_url:
            return local
        shared = _shared.get((redis_url, key))
        if shared is None:
            shared = _shared[(redis_url, key)] = RedisSlots(
                redis_client(redis_url), key, lease_s=lease_s, fallback=local
            )
        return shared


def redis_client(redis_url: str):
    """One Redis client per URL in this process (the slots and the pacer share it)."""
    with _client_lock:
        client = _clients.get(redis_url)
        if client is None:
            from redis import Redis  # loaded only where REDIS_URL is set

            client = _clients[redis_url] = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        return client
