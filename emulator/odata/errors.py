"""The error every malformed or unsupported query option raises; views answer it with 400."""

from __future__ import annotations


class ODataError(Exception):
    """A malformed or unsupported query option (HTTP 400)."""

    def __init__(self, message: str, code: str = "BadRequest"):
        super().__init__(message)
        self.code = code
        self.message = message
