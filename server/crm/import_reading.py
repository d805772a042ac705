"""Reading a contact file for import: CSV or vCard, detected from its first bytes,
streamed row by row, with a count of the bytes read for progress."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import BinaryIO

from server.crm.import_csv import read_csv
from server.crm.import_rows import NOT_UTF8, NOT_UTF8_PART_WAY, SAVE_AS_UTF8, ImportFileError, ImportRow, RowProblem
from server.crm.import_vcard import read_vcards


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read through it (for progress)."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size

    def close(self) -> None:
        self.raw.close()
        super().close()


def detect_format(head: bytes, name: str = "") -> str:
    """'vcard' or 'csv', from the file's first bytes (then its extension)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:11].upper() == b"BEGIN:VCARD":
        return "vcard"
    if name.lower().endswith((".vcf", ".vcard")):
        return "vcard"
    return "csv"


def read_rows(
    raw: BinaryIO, warn: Callable[[str], None], fmt: str | None = None, name: str = ""
) -> Iterator[ImportRow | RowProblem]:
    """The rows of a binary stream, CSV or vCard (`fmt` None: detected). Raises
    ImportFileError for a file that is not UTF-8 or cannot be read at all."""
    buffered = io.BufferedReader(raw) if not isinstance(raw, io.BufferedReader) else raw
    fmt = fmt or detect_format(buffered.peek(64)[:64], name)
    # newline="" keeps line breaks inside quoted CSV cells; utf-8-sig drops a BOM.
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="" if fmt == "csv" else None)
    reader = read_csv(text, warn) if fmt == "csv" else read_vcards(text, warn)
    line = 0
    try:
        for item in reader:
            line = item.line
            yield item
    except UnicodeDecodeError:
        advice = SAVE_AS_UTF8[fmt]
        # Line 0: not even the first line could be read, so nothing was imported.
        sentence = NOT_UTF8_PART_WAY.format(line=line, advice=advice) if line else NOT_UTF8.format(advice=advice)
        raise ImportFileError(sentence) from None
