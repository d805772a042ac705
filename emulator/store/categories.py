"""The store's master categories: the per-mailbox list Outlook's category picker shows."""

from __future__ import annotations

import threading
import uuid

from emulator.store.errors import StoreError
from emulator.store.model import User


class MasterCategories:
    """Part of `Store`."""

    lock: threading.RLock

    def add_category(self, user: User, display_name: str, color: str = "preset0") -> dict:
        """Create a master category; StoreError(409) when the name exists (case-insensitive)."""
        with self.lock:
            for c in user.mailbox.categories:
                if c["displayName"].lower() == display_name.lower():
                    raise StoreError(409, "Conflict", "A category with this name already exists.")
            cat = {"id": str(uuid.uuid4()), "displayName": display_name, "color": color or "preset0"}
            user.mailbox.categories.append(cat)
            return dict(cat)

    def delete_category(self, user: User, category_id: str) -> bool:
        with self.lock:
            before = len(user.mailbox.categories)
            user.mailbox.categories = [c for c in user.mailbox.categories if c["id"] != category_id]
            return len(user.mailbox.categories) != before
