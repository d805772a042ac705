"""The errors the store raises; the Graph views turn them into Graph's error bodies."""

from __future__ import annotations


class StoreError(ValueError):
    """A request the store refuses; views map `code` to a Graph error."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SyncStateError(StoreError):
    """A delta or skip token that is unknown, tampered with or expired."""

    def __init__(self, message="The sync state generation is not found; restart synchronization from the start."):
        super().__init__(410, "SyncStateNotFound", message)
