"""Which kind of work the current thread is doing: interactive or background.

Interactive is the default: a person waits for it (the pane's API, the CRM pages, a CLI
command). The job runner (`server/jobs/running.py` `run_job`) marks every job it runs as
background, so bulk sync, automatic sync, delta rounds, notifications and imports are
background wherever they run (the embedded queue's threads or RQ workers), and nothing
that calls Graph inside a job has to say so itself.

The Graph pacer (`server/graph/pacer.py`) reads the mark: background requests spend a
mailbox's budget only up to what the interactive reserve leaves, and hold at most 3 of
its 4 concurrent slots, so a job never makes the pane wait.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_background: ContextVar[bool] = ContextVar("crm_background_work", default=False)


def is_background() -> bool:
    """True inside a job (or a `background()` block)."""
    return _background.get()


@contextlib.contextmanager
def background(value: bool = True) -> Iterator[None]:
    """Marks the work in this block (this thread or task) as background (or, with
    `value=False`, interactive)."""
    token = _background.set(value)
    try:
        yield
    finally:
        _background.reset(token)
