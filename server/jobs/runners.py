"""The two runners: daemon threads in this process, or RQ on Redis."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask

log = logging.getLogger(__name__)

QUEUE_NAME = "crm"
# Named, not imported: the function lives in the worker's entry module, which builds
# the app, and the app imports this package.
RQ_JOB_FUNCTION = "server.worker.run_queued_job"

RunJob = Callable[[Flask, int], object]


class ThreadRunner:
    """The embedded queue: `workers` daemon threads in this process, with delays.
    Each thread calls `run(app, job_id)`."""

    def __init__(self, app: Flask, workers: int, run: RunJob):
        self.app = app
        self.workers = max(1, workers)
        self.run = run
        self._heap: list[tuple[float, int, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._busy = 0

    def submit(self, job_id: int, delay: float = 0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), job_id))
            self._start()
            self._cond.notify()

    def _start(self) -> None:
        if not self._threads:
            for n in range(self.workers):
                thread = threading.Thread(target=self._work, name=f"crm-job-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        _, _, job_id = heapq.heappop(self._heap)
                        self._busy += 1
                        break
                    self._cond.wait(None if not self._heap else self._heap[0][0] - now)
            try:
                self.run(self.app, job_id)
            except Exception:  # a broken database must not kill the worker thread
                log.exception("job %s could not run", job_id)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def cancel_pending(self) -> int:
        """Drops the submissions not started yet (shutdown, tests); their rows stay,
        so `recover_stalled_jobs` submits them again later. Returns how many."""
        with self._cond:
            dropped = len(self._heap)
            self._heap.clear()
            return dropped

    def idle(self) -> bool:
        """Nothing due and nothing running (tests wait for this)."""
        with self._cond:
            now = time.monotonic()
            return self._busy == 0 and not any(when <= now for when, _, _ in self._heap)


class RqRunner:
    """RQ on Redis: the RQ job carries only the SyncJob id."""

    def __init__(self, redis_url: str):
        # Imported here: redis and rq are only needed when REDIS_URL is set.
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(QUEUE_NAME, connection=self.connection)

    def submit(self, job_id: int, delay: float = 0) -> None:
        options = dict(job_timeout=6 * 3600, result_ttl=600, failure_ttl=7 * 24 * 3600)
        if delay > 0:
            self.queue.enqueue_in(timedelta(seconds=delay), RQ_JOB_FUNCTION, job_id, **options)
        else:
            self.queue.enqueue(RQ_JOB_FUNCTION, job_id, **options)
