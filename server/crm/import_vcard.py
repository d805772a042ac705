"""Reading contacts from vCard 3.0 and 4.0 files (one or many cards) with vobject.

The file is split into cards here, so a card vobject cannot parse is reported
with its line number while the others import, and a large file is streamed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TextIO

import vobject

from server.crm.import_rows import EMPTY_FILE, NO_VCARD, ImportFileError, ImportRow, RowProblem, split_list

# Our extension: the domains of the contact's company, so export -> import keeps them.
COMPANY_DOMAINS = "X-CRM-COMPANY-DOMAINS"
MOBILE_TYPES = {"cell", "mobile", "iphone"}


def read_vcards(stream: TextIO, warn: Callable[[str], None]) -> Iterator[ImportRow | RowProblem]:
    """Yields one ImportRow per card (RowProblem for a card that cannot be read),
    numbered by the line of its BEGIN:VCARD. Raises ImportFileError for a file
    without any card."""
    card: list[str] = []
    start = 0
    stray = 0
    cards = 0
    for number, line in enumerate(stream, start=1):
        marker = line.strip().upper()
        if not card:
            if marker == "BEGIN:VCARD":
                card, start = [line], number
                cards += 1
            elif marker:
                stray += 1
            continue
        card.append(line)
        if marker == "END:VCARD":
            yield _card(start, "".join(card))
            card = []
    if not cards:
        raise ImportFileError(NO_VCARD if stray else EMPTY_FILE)
    if card:
        yield RowProblem(start, "the card has no END:VCARD")
    if stray:
        warn(f"{stray} line(s) outside BEGIN:VCARD/END:VCARD are ignored")


def _card(line: int, text: str) -> ImportRow | RowProblem:
    try:
        card = vobject.readOne(text)
    except vobject.base.ParseError as exc:
        # vobject's own line numbers do not count the card's lines reliably; its message names the text.
        return RowProblem(line, f"unreadable vCard ({getattr(exc, 'message', exc)})")
    except Exception as exc:  # vobject raises several unrelated types for bad input
        return RowProblem(line, f"unreadable vCard ({type(exc).__name__}: {exc})")
    row = ImportRow(line=line)
    contents = card.contents
    try:
        if "n" in contents:
            name = contents["n"][0].value
            row.first_name = _text(getattr(name, "given", ""))
            row.last_name = _text(getattr(name, "family", ""))
        if "fn" in contents:
            row.display_name = _text(contents["fn"][0].value)
        for entry in contents.get("email", []):
            row.emails.extend(split_list(_text(entry.value)))
        if "org" in contents:
            org = contents["org"][0].value
            row.company = _text(org[0] if isinstance(org, (list, tuple)) and org else org)
        if "title" in contents:
            row.job_title = _text(contents["title"][0].value)
        for entry in contents.get("tel", []):
            number = _text(entry.value)
            if number.lower().startswith("tel:"):
                number = number[4:]
            if _is_mobile(entry.params):
                row.mobile_phone = row.mobile_phone or number
            else:
                row.phone = row.phone or number
        for entry in contents.get(COMPANY_DOMAINS.lower(), []):
            row.company_domains.extend(split_list(_text(entry.value)))
    except (AttributeError, TypeError, IndexError) as exc:
        return RowProblem(line, f"unreadable vCard ({exc})")
    if row.display_name in row.emails and not row.first_name and not row.last_name:
        row.display_name = ""  # FN only because vCard requires one: the contact has no name
    kind = _text(contents["kind"][0].value).lower() if "kind" in contents else ""
    if kind == "org" or (
        row.company and row.display_name == row.company and not row.first_name and not row.last_name and not row.emails
    ):
        # A card for the organisation itself (vCard 4 KIND:org, or FN = ORG).
        row.first_name = row.last_name = row.display_name = ""
    return row


def _is_mobile(params: dict) -> bool:
    types = set()
    for value in params.get("TYPE", []):
        types.update(t.strip().strip('"').lower() for t in str(value).split(","))
    return bool(types & MOBILE_TYPES)


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value if v)
    return " ".join(str(value or "").split())
