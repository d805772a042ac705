"""The pane's recent message reads, held briefly so that Sync reuses the open's read.

The pane opens a message (one Graph read, with everything filing needs: the body and the
attachments' metadata too) and the user often presses Sync moments later. Reading the
message again would cost a second Graph request; instead the open's read is kept for
MESSAGE_READ_CACHE_S seconds and the sync takes it (once: a second sync reads again).
Reusing it loses nothing because the sync's mark is a conditional PATCH (`If-Match`
with the read's `@odata.etag`, file_message.py `mark_filed`): when the message changed
in between, a category added in Outlook say, Graph answers 412 and the sync reads again
and re-applies its change to what is there now. A read without an etag, or of a draft
(whose content may still change), is never kept.

Whose read: an entry is keyed by the tenant, the user's object id and the message id,
is written only by that user's own pane request (a delegated read, with their token)
and given back only to that user's next pane request; background jobs neither keep nor
take one (their Mailboxes have no `reads`). Two stores, one interface (`RecentReads`):
- `LocalReads`: this process only (the embedded default); a sync that reaches another
  worker process than its open simply misses;
- `RedisReads` (REDIS_URL set): shared by every web process, each entry expiring in
  Redis; the key is a hash of (tenant, user, message), the value the message's JSON.
A miss (expired, taken, another process, Redis unreachable) reads the message as
before. `reads_for(app)` gives the app's store; None when MESSAGE_READ_CACHE_S is 0.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from flask import Flask

log = logging.getLogger(__name__)

ReadKey = tuple[str, str, str]  # (tenant id, user's object id, message id as requested)

# A message with a larger body is not kept: it would weigh on the process (or Redis) for
# little gain, and its sync reads it again as before.
MAX_BODY_CHARS = 1_000_000
LOCAL_MAX_ENTRIES = 2048  # one process's entries; the oldest go first
KEY_PREFIX = "crm:pane-read:"
EXTENSION = "recent_reads"


class RecentReads(Protocol):
    def keep(self, key: ReadKey, message: dict) -> None: ...

    def take(self, key: ReadKey) -> dict | None: ...

    def clear(self) -> None: ...


def worth_keeping(message: dict) -> bool:
    """Only a read a conditional write can be checked against, of a reasonable size, and
    never a draft's: Graph lets a draft's body, subject and message id change ("Updatable
    only if isDraft = true", https://learn.microsoft.com/en-us/graph/api/message-update),
    so only a sent or received message's content is the same moments later."""
    body = message.get("body") or {}
    return (
        bool(message.get("@odata.etag"))
        and not message.get("isDraft")
        and len(body.get("content") or "") <= MAX_BODY_CHARS
    )


class LocalReads:
    """This process's reads, each for `ttl_s` seconds (`clock`: monotonic seconds).
    The dicts are kept as they are: callers never change a message dict in place."""

    def __init__(self, ttl_s: float, max_entries: int = LOCAL_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[ReadKey, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, key: ReadKey, message: dict) -> None:
        if not worth_keeping(message):
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self.clock() + self.ttl_s, message)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def take(self, key: ReadKey) -> dict | None:
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def redis_key(key: ReadKey) -> str:
    return KEY_PREFIX + hashlib.sha256("\0".join(key).encode()).hexdigest()


class RedisReads:
    """The reads of every web process, in Redis, each expiring after `ttl_s` seconds."""

    def __init__(self, redis_url: str, ttl_s: float):
        from redis import Redis  # loaded only where REDIS_URL is set

        self.redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.ttl_ms = max(1, int(ttl_s * 1000))

    def keep(self, key: ReadKey, message: dict) -> None:
        if not worth_keeping(message):
            return
        try:
            self.redis.set(redis_key(key), json.dumps(message, separators=(",", ":")), px=self.ttl_ms)
        except Exception as exc:  # redis errors: the sync reads the message again
            log.warning("pane read not kept in Redis: %r", exc)

    def take(self, key: ReadKey) -> dict | None:
        try:
            value = self.redis.getdel(redis_key(key))
        except Exception as exc:  # redis errors: a miss
            log.warning("pane read not taken from Redis: %r", exc)
            return None
        return None if value is None else json.loads(value)

    def clear(self) -> None:
        keys = list(self.redis.scan_iter(match=KEY_PREFIX + "*", count=500))
        if keys:
            self.redis.delete(*keys)


_lock = threading.Lock()


def reads_for(app: Flask) -> RecentReads | None:
    """The app's store of pane reads (one per app): Redis when REDIS_URL is set, else
    this process's; None when MESSAGE_READ_CACHE_S is 0 (every sync reads)."""
    if EXTENSION not in app.extensions:
        with _lock:
            if EXTENSION not in app.extensions:
                ttl_s = float(app.config["MESSAGE_READ_CACHE_S"])
                redis_url = app.config.get("REDIS_URL")
                store: RecentReads | None = None
                if ttl_s > 0:
                    store = RedisReads(redis_url, ttl_s) if redis_url else LocalReads(ttl_s)
                app.extensions[EXTENSION] = store
    return app.extensions[EXTENSION]
