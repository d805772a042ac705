"""Reading contacts from CSV: UTF-8 (with or without BOM), a header row, columns
in any order, ',' or ';' (Excel in Czech and Polish locales) or tab between them."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterator
from typing import TextIO

from server.crm.import_rows import (
    COLUMNS,
    EMPTY_FILE,
    NO_KNOWN_COLUMN,
    ImportFileError,
    ImportRow,
    RowProblem,
    split_list,
    undo_defuse,
)

DELIMITERS = (",", ";", "\t")

# Header spellings other tools write, mapped to our columns.
ALIASES = {
    "first": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "jmeno": "first_name",
    "imie": "first_name",
    "last": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "prijmeni": "last_name",
    "nazwisko": "last_name",
    "name": "display_name",
    "full_name": "display_name",
    "displayname": "display_name",
    "e_mail": "email",
    "emails": "email",
    "email_address": "email",
    "e_mail_address": "email",
    "mail": "email",
    "company_name": "company",
    "organization": "company",
    "organisation": "company",
    "firma": "company",
    "spolecnost": "company",
    "title": "job_title",
    "jobtitle": "job_title",
    "position": "job_title",
    "phone_number": "phone",
    "business_phone": "phone",
    "telephone": "phone",
    "tel": "phone",
    "telefon": "phone",
    "mobile": "mobile_phone",
    "mobile_number": "mobile_phone",
    "cell": "mobile_phone",
    "domains": "company_domains",
}


def column_for(header: str) -> str | None:
    """Our column for a header cell ('E-mail Address' -> 'email'), or None if unknown."""
    text = unicodedata.normalize("NFKD", header.strip().strip('"')).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    key = "_".join(text.replace("-", " ").replace(".", " ").split())
    if key in COLUMNS:
        return key
    return ALIASES.get(key)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most known columns (ties: ',')."""
    best, best_known = ",", -1
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        known = sum(1 for cell in cells if column_for(cell))
        if known > best_known:
            best, best_known = delimiter, known
    return best


def read_csv(stream: TextIO, warn: Callable[[str], None]) -> Iterator[ImportRow | RowProblem]:
    """Yields one ImportRow per data record (RowProblem for a record that cannot be
    read), numbered by the physical line it starts on. Unknown columns are reported
    through `warn` and ignored. Raises ImportFileError for an empty file or a
    header without any known column."""
    header_line = stream.readline()
    header_lines = 1
    while header_line and not header_line.strip():
        header_line = stream.readline()
        header_lines += 1
    if not header_line:
        raise ImportFileError(EMPTY_FILE)
    header_line = header_line.lstrip("\ufeff")  # a BOM the decoder did not take (e.g. a second one)
    delimiter = sniff_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    columns: list[str | None] = []
    for cell in header:
        column = column_for(cell)
        if column is None and cell.strip():
            warn(f"unknown column {cell.strip()!r} is ignored")
        columns.append(column)
    if not any(columns):
        raise ImportFileError(NO_KNOWN_COLUMN.format(columns=", ".join(COLUMNS[:7])))
    if not ({"email", "first_name", "last_name", "display_name"} & set(filter(None, columns))):
        warn("there is no email or name column: every row will be reported as bad")

    reader = csv.reader(stream, delimiter=delimiter)
    consumed = 0
    for record in reader:
        line = header_lines + consumed + 1
        consumed = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if any(cell.strip() for cell in record[len(columns) :]):
            yield RowProblem(
                line,
                f"{len(record)} cells but the header has {len(columns)} columns "
                f"(a cell holding {delimiter!r} must be in double quotes)",
            )
            continue
        yield _row(line, columns, record)


def _row(line: int, columns: list[str | None], record: list[str]) -> ImportRow:
    row = ImportRow(line=line)
    for column, raw in zip(columns, record):
        raw = undo_defuse(raw)
        value = " ".join(raw.split())
        if column is None or not value:
            continue
        if column == "email":
            row.emails.extend(split_list(raw))
        elif column == "company_domains":
            row.company_domains.extend(split_list(raw))
        elif not getattr(row, column):
            setattr(row, column, value)
    return row
