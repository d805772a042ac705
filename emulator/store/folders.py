"""The store's mail folders: the well-known set every mailbox has, lookups, counts and new folders."""

from __future__ import annotations

import threading

from emulator.store.errors import StoreError
from emulator.store.ids import folder_item_id
from emulator.store.model import Folder, User

WELL_KNOWN_FOLDERS = [
    # (well-known name, display name)
    ("msgfolderroot", "Top of Information Store"),
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("archive", "Archive"),
    ("junkemail", "Junk Email"),
    ("outbox", "Outbox"),
]


class MailFolders:
    """Part of `Store`."""

    lock: threading.RLock

    def folder(self, user: User, ref: str) -> Folder | None:
        """A folder by Graph id, well-known name, fixture key or display name (case-insensitive)."""
        if not ref:
            return None
        box = user.mailbox
        if ref in box.folders:
            return box.folders[ref]
        want = ref.lower()
        for f in box.folders.values():
            if (f.well_known_name or "").lower() == want or f.key.lower() == want:
                return f
        for f in box.folders.values():
            if f.display_name.lower() == want:
                return f
        return None

    def mail_folder(self, user: User, ref: str) -> Folder | None:
        """A folder as Graph URLs name it: by Graph id or well-known name only."""
        box = user.mailbox
        if ref in box.folders:
            return box.folders[ref]
        want = (ref or "").lower()
        return next((f for f in box.folders.values() if (f.well_known_name or "") == want), None)

    def add_folder(self, user: User, parent: Folder, display_name: str) -> Folder:
        """Create a mail folder; StoreError(409) when the parent has one of that name."""
        with self.lock:
            for f in user.mailbox.folders.values():
                if f.parent_id == parent.id and f.display_name.lower() == display_name.lower():
                    raise StoreError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            user.mailbox.counter += 1
            key = f"f{user.mailbox.counter}"
            folder = Folder(folder_item_id(user.oid, key), key, display_name, parent.id)
            user.mailbox.folders[folder.id] = folder
            return folder

    def folder_counts(self, user: User, folder: Folder) -> tuple[int, int, int]:
        """(total items, unread items, child folders) of `folder`."""
        msgs = self.messages_in(user, folder)
        children = sum(1 for f in user.mailbox.folders.values() if f.parent_id == folder.id)
        return len(msgs), sum(1 for m in msgs if not m.fields.get("isRead")), children
