"""In-memory state of the emulated Microsoft 365 tenants, seeded from a JSON fixture.

Everything the Graph views, the identity endpoints and the admin API read or
change lives in one `Store`, behind one re-entrant lock (`store.lock`). Its parts
sit in this package, one job each: `fixture` (seeding), `directory` (users,
tenants, consent), `mailbox_scopes` (which mailboxes an app-only token may reach), `folders`, `messages`, `contacts`, `categories`,
`delta_state` (sync tokens) and `subscriptions`; `model` holds the records and
`ids` the Exchange-shaped ids, derived deterministically so a reset gives the
same ids.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from emulator.notifications import Notifier
from emulator.store.categories import MasterCategories
from emulator.store.contacts import Contacts
from emulator.store.delta_state import DeltaState
from emulator.store.directory import Directory
from emulator.store.fixture import FixtureLoading
from emulator.store.folders import MailFolders
from emulator.store.mailbox_scopes import MailboxScopes
from emulator.store.messages import Messages
from emulator.store.subscriptions import Subscriptions


class Store(
    FixtureLoading,
    Directory,
    MailboxScopes,
    MailFolders,
    Messages,
    Contacts,
    MasterCategories,
    DeltaState,
    Subscriptions,
):
    """All emulated tenants, apps, users and mailboxes. Use `with store.lock:` around reads
    that must see a consistent state; every mutating method takes the lock itself."""

    def __init__(self, fixture: dict, path: str | None = None):
        self.path = path
        self.lock = threading.RLock()
        self._fixture = fixture
        self.notifier: Notifier | None = None  # created with the first notification
        self.load(fixture)

    @classmethod
    def from_file(cls, path) -> Store:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh), str(path))

    def reset(self) -> None:
        """Reload the fixture (re-read from disk when loaded from a file); clear subscriptions."""
        with self.lock:
            fixture = self._fixture
            if self.path and Path(self.path).exists():
                with open(self.path, encoding="utf-8") as fh:
                    fixture = json.load(fh)
            self._fixture = fixture
            self.load(fixture)
            if self.notifier is not None:
                self.notifier.clear()

    def next_seq(self) -> int:
        """The next change sequence number: delta tokens and tombstones are ordered by it."""
        self.seq += 1
        return self.seq
