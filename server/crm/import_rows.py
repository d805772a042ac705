"""What the CSV and vCard readers hand the importer: one `ImportRow` per record,
or a `RowProblem` for a record that cannot be read, each with its line number."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Columns of the CSV format, in the order export writes them. The six
# (first_name, last_name, email, company, job_title, phone) are the contract;
# the others carry what a round trip through export must not lose.
COLUMNS = (
    "first_name",
    "last_name",
    "display_name",
    "email",
    "company",
    "job_title",
    "phone",
    "mobile_phone",
    "company_domains",
)

# Several addresses (or domains) in one cell are separated by ';'.
LIST_SEPARATOR = ";"


# Spreadsheets run a cell starting with one of these as a formula. Export writes such
# cells with a leading apostrophe (shown as text); import takes the apostrophe off.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# A phone number as people write one: an optional "+", then a digit or "(", then digits,
# spaces and ( ) . - / only. It is the one kind of cell starting with "+" that a
# spreadsheet must show as it is; anything else after a "+" or "-" (even "-2+3+cmd|...")
# could be a formula, so it is neutralised.
PHONE = re.compile(r"\+?[0-9(][0-9 ().\-/]*")


def is_phone_number(value: str) -> bool:
    return PHONE.fullmatch(value) is not None and any(c.isdigit() for c in value)


def is_formula_like(value: str) -> bool:
    """Every cell a spreadsheet could run ('=...', '+...', '-...', '@...', tab or carriage
    return first), except a value that is wholly a phone number ('+420 123 456 789')."""
    return bool(value) and value.startswith(FORMULA_STARTS) and not is_phone_number(value)


def defuse_formula(value: str) -> str:
    return "'" + value if is_formula_like(value) else value


def undo_defuse(value: str) -> str:
    return value[1:] if value.startswith("'") and is_formula_like(value[1:]) else value


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (empty, not UTF-8, no known columns).
    Its message is one plain sentence for the person who chose the file: why, and
    what to do (the admin page and `flask crm import` show it as it is)."""


# Why a file is refused, in the words the admin page and the CLI show.
SAVE_AS_UTF8 = {
    "csv": "Save it as CSV UTF-8 in Excel (File > Save As > CSV UTF-8) and import it again.",
    "vcard": "Export the contacts as vCard in UTF-8 and import the file again.",
}
NOT_UTF8 = "The file is not UTF-8 text. {advice}"
NOT_UTF8_PART_WAY = (
    "The file is not UTF-8 text after line {line}; the rows before it are saved. {advice} "
    "Saved contacts are updated, not duplicated."
)
EMPTY_FILE = "The file is empty. Choose the file with your contacts and import it again."
NO_KNOWN_COLUMN = "The first row names no column we know ({columns}, ...). Add a header row and import the file again."
NO_VCARD = (
    "The file holds no vCard (no BEGIN:VCARD line). Export the contacts as vCard, or as CSV UTF-8 "
    "with a header row, and import that file."
)


@dataclass
class ImportRow:
    """One contact as a file describes it. Empty strings mean "not given": an
    import never blanks a field the file leaves empty."""

    line: int
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    emails: list[str] = field(default_factory=list)
    company: str = ""
    company_domains: list[str] = field(default_factory=list)
    job_title: str = ""
    phone: str = ""
    mobile_phone: str = ""

    def has_name(self) -> bool:
        return bool(self.first_name or self.last_name or self.display_name)


@dataclass(frozen=True)
class RowProblem:
    """A record that was not imported, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def split_list(cell: str) -> list[str]:
    """'a@x.com; b@y.com' -> ['a@x.com', 'b@y.com']. A part holding several bare
    addresses joined by ',' is split too; '"Doe, Jane" <jane@x.com>' is one address."""
    values: list[str] = []
    for part in cell.split(LIST_SEPARATOR):
        if part.count("@") > 1 and "<" not in part:
            values.extend(p.strip() for p in part.split(","))
        else:
            values.append(part.strip())
    return [v for v in values if v]


@dataclass
class ImportSummary:
    """What an import did. `skipped`: rows whose contact was already up to date;
    `merged`: rows folded into an earlier row of the same file (same address)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    merged: int = 0
    companies_created: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return len(self.problems)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "merged": self.merged,
            "companies_created": self.companies_created,
            "errors": self.errors,
            "problems": [{"line": p.line, "reason": p.reason} for p in self.problems],
            "warnings": list(self.warnings),
        }
