"""The store's delta state: signed sync tokens and the changes a folder has seen since one."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading

from emulator.store.errors import SyncStateError
from emulator.store.ids import b64url, b64url_decode
from emulator.store.model import Folder, User


class DeltaState:
    """Part of `Store`. Tokens are opaque and signed, scoped to one mailbox folder and one store load:
    a fresh secret per load makes every token from before a reset "expired" (410)."""

    lock: threading.RLock
    sync_secret: bytes
    sync_epoch: str

    def new_sync_secret(self) -> None:
        self.sync_secret = secrets.token_bytes(32)
        self.sync_epoch = secrets.token_hex(4)

    def make_sync_token(self, state: dict) -> str:
        payload = dict(state, e=self.sync_epoch)
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        sig = hmac.new(self.sync_secret, raw, hashlib.sha256).digest()[:12]
        return b64url(raw + sig).rstrip("=")

    def read_sync_token(self, token: str) -> dict:
        """Decode a token made by make_sync_token; raises SyncStateError when invalid or expired."""
        try:
            blob = b64url_decode(token)
            raw, sig = blob[:-12], blob[-12:]
            good = hmac.new(self.sync_secret, raw, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(sig, good):
                raise SyncStateError()
            state = json.loads(raw)
        except SyncStateError:
            raise
        except Exception:
            raise SyncStateError() from None
        if state.get("e") != self.sync_epoch:
            raise SyncStateError()
        return state

    def expire_sync_tokens(self) -> None:
        """Invalidate every outstanding delta/skip token (next use answers 410)."""
        with self.lock:
            self.new_sync_secret()

    def delta_changes(self, user: User, folder: Folder, after_seq: int, initial: bool):
        """Changes in `folder` after `after_seq`, ordered by sequence.

        Returns a list of ("message", Message) and ("removed", Tombstone), sorted by seq.
        The initial round (`initial`) lists current messages only.
        """
        entries = [(m.seq, "message", m) for m in self.messages_in(user, folder) if m.seq > after_seq]
        if not initial:
            entries += [
                (t.seq, "removed", t) for t in user.mailbox.tombstones if t.folder_id == folder.id and t.seq > after_seq
            ]
        entries.sort(key=lambda e: e[0])
        return entries
