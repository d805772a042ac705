"""Periodic tasks: where they register (`@periodic`), and the embedded scheduler that
runs them in a web process without Redis. With Redis, `rq cron server.cron` queues
them instead, and server.worker runs them.

A periodic task is `task(app) -> int` (how many jobs it queued); it only queues
per-mailbox jobs, whose keys make a repeat harmless. Like job kinds, a task registers
where it is defined, when its module is imported by the app factory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Flask

from server.jobs.running import recover_stalled_jobs

log = logging.getLogger(__name__)

PeriodicFunction = Callable[[Flask], int]


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    run: PeriodicFunction
    every_s: float | None = None  # a fixed interval, or
    setting: str | None = None  # the app setting that holds it (its default lives in server.config)

    def interval_s(self, config: Mapping) -> float:
        return float(config[self.setting] if self.setting else self.every_s)


PERIODIC_TASKS: dict[str, PeriodicTask] = {}


def periodic(
    name: str, *, every_s: float | None = None, setting: str | None = None
) -> Callable[[PeriodicFunction], PeriodicFunction]:
    """Registers `task(app)` to run every `every_s` seconds, or every `setting`
    seconds of the app's config. The name is RQ cron's argument: never rename one."""
    if (every_s is None) == (setting is None):
        raise ValueError("a periodic task has either a fixed interval or a setting")

    def register(fn: PeriodicFunction) -> PeriodicFunction:
        PERIODIC_TASKS[name] = PeriodicTask(name, fn, every_s, setting)
        return fn

    return register


RECOVER_S = 60
periodic("recover", every_s=RECOVER_S)(recover_stalled_jobs)


def run_periodic(app: Flask, name: str) -> int:
    """Runs one periodic task by name, in the app's context."""
    with app.app_context():
        return PERIODIC_TASKS[name].run(app)


class EmbeddedScheduler:
    """The scheduler of the embedded setup: a daemon thread in the web process."""

    def __init__(self, app: Flask, tick_s: float = 15):
        self.app = app
        self.tick_s = tick_s
        self.intervals = {name: task.interval_s(app.config) for name, task in PERIODIC_TASKS.items()}
        self.last: dict[str, float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="crm-scheduler", daemon=True)

    def start(self) -> EmbeddedScheduler:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(30)

    def _run(self) -> None:
        while not self.stopped.is_set():
            now = time.monotonic()
            for name, interval in self.intervals.items():
                if now - self.last.get(name, -interval) >= interval:
                    self.last[name] = now
                    try:
                        run_periodic(self.app, name)
                    except Exception:
                        log.exception("scheduled %s failed", name)
            self.stopped.wait(self.tick_s)


def init_app(app: Flask) -> None:
    """Starts the embedded scheduler with the first request of a web process that has
    no REDIS_URL (not in CLI commands, not when SCHEDULER is off or TESTING)."""
    state = {"started": False}
    lock = threading.Lock()

    @app.before_request
    def _start_scheduler():
        if state["started"]:
            return
        with lock:
            if state["started"]:
                return
            state["started"] = True
            if app.config.get("REDIS_URL") or app.config.get("TESTING") or not app.config.get("SCHEDULER", True):
                return
            app.extensions["crm_scheduler"] = EmbeddedScheduler(app).start()
