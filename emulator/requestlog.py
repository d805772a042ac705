"""The request log: what tests and benchmarks count (Graph and token requests).

Entries are the JSON rows of `GET /_emulator/requests`. Graph's `$batch`
blueprint records each inner request itself with `in_batch=True`, so a batch
shows up as one outer row plus one row per inner request.
"""

import collections
import itertools
import threading
import time

MAX_ENTRIES = 200_000  # a long `make run` session must not grow without bound


class RequestLog:
    """Thread-safe, append-only list of request records (cleared on demand; oldest dropped past MAX_ENTRIES)."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._lock = threading.Lock()
        self._entries: collections.deque = collections.deque(maxlen=max_entries)
        self._seq = itertools.count(1)

    def record(
        self,
        *,
        method: str,
        path: str,
        status: int,
        query: str = "",
        throttled: bool = False,
        duration_ms: float = 0.0,
        mailbox: str | None = None,
        in_batch: bool = False,
        batch_id: str | None = None,
        app_only: bool = False,
    ) -> dict:
        """Append one request; `throttled` is True when a 429 came from a limit or fault."""
        with self._lock:
            entry = {
                "seq": next(self._seq),
                "ts": round(time.time(), 3),
                "method": method.upper(),
                "path": path,
                "query": query,
                "status": int(status),
                "throttled": bool(throttled),
                "duration_ms": round(float(duration_ms), 1),
                "mailbox": mailbox,
                "in_batch": bool(in_batch),
                "batch_id": batch_id,
                "app_only": bool(app_only),
            }
            self._entries.append(entry)
            return entry

    def entries(self) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        # The sequence keeps counting so rows from before a clear are never confused
        # with rows after it.
        with self._lock:
            self._entries.clear()
