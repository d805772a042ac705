"""Folding text for search: the one key that case and accents do not change.

"Dvořák", "DVORAK" and "dvorak" fold to "dvorak"; "Łódź" to "lodz". People type
names without their accents (on a phone, an English keyboard, in a hurry), so every
search compares folded text with a folded key stored beside the name (the
`*_fold` columns of contacts and companies, each with an index, so a search is an
index range scan on SQLite and PostgreSQL alike; SQL has no portable unaccent).
"""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter and a mark (so NFKD
# leaves them whole), folded to the Latin letters people type instead. Applied after
# casefold, so only lower case is listed.
_EXTRA = str.maketrans(
    {
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "ø": "o",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ħ": "h",
        "ı": "i",
        "ŧ": "t",
        "ŋ": "n",
        "ĸ": "k",
    }
)


def fold(text: str | None) -> str:
    """Case- and accent-free form of `text` for search: casefold, NFKD, combining
    marks dropped, the letters Unicode keeps whole (ł đ ø ß æ œ þ ...) spelled in
    plain Latin, runs of whitespace made one space."""
    if not text:
        return ""
    if text.isascii():  # most names; the same result, about ten times faster
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.translate(_EXTRA).split())


def fold_key(text: str | None, length: int) -> str:
    """fold(text) cut to a key column's `length` (folding can lengthen: ß -> ss)."""
    return fold(text)[:length]
