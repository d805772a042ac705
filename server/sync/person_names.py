"""First and last name from the display name on an email address.

Display names carry more than a name: comments ("Henrik (private)"), quotes, the
"Last, First" order, academic titles before and after ("Ing. Petr Svoboda, Ph.D."),
suffixes ("Jr.", "CSc.") and company tails ("Jan Novák | Stavby", "Anna Nowak -
Firma sp. z o.o."). None of that may become a last name: the CRM is searched by it.

We clean what no name parser knows about (comments, quotes, company tails, the
address itself) and leave titles, suffixes, particles ("van der", "von") and the
comma order to `nameparser`, taught the Czech, Polish and German titles it lacks.
"""

from __future__ import annotations

import re

from nameparser import HumanName
from nameparser.config import Constants

from server.crm.addresses import normalise_address

# Titles written before a name in Czech, Slovak, Polish and German mail, beyond
# nameparser's English ones (compared without dots, case-insensitively).
EXTRA_TITLES = (
    "ing",
    "mgr",
    "bc",
    "judr",
    "mudr",
    "mvdr",
    "phdr",
    "rndr",
    "paeddr",
    "thdr",
    "doc",
    "arch",
    "dipl",
    "dipl-ing",
    "dipl.-ing",
    "dipl-kfm",
    "mag",
    "lic",
    "inż",
    "inz",
    "hab",
    "herr",
    "frau",
    "pan",
    "pani",
)
# Titles and degrees written after a name.
EXTRA_SUFFIXES = ("phd", "ph.d", "csc", "drsc", "dis", "mba", "msc", "bsc", "ll.m", "llm", "dba", "mph")

# A company or department after the name: "Jan Novák | Stavby", "Anna Nowak - Firma",
# "Jan Novák / ACME", "Jan Novák @ ACME", "Jan Novák – Stavby" (spaces around the mark,
# so "Hans-Peter" and "Wiśniewska-Kowalska" stay whole).
_TAIL = re.compile(r"\s+(?:[|/@•·–—]|-{1,2}|::?)\s+.*$")
# Comments in brackets anywhere: "Henrik (private)", "Jan Novák [ACME]", "Anna {HR}".
_COMMENT = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|<[^>]*>")
_QUOTES = "\"'`“”„‚‘’«»"
# What a company's legal form looks like when a name ends in one after a comma.
_COMPANY_FORM = re.compile(
    r"\b(?:s\.?\s?r\.?\s?o|a\.?\s?s|sp\.?\s?z\s?o\.?\s?o|s\.?\s?a|gmbh|ag|kg|ltd|llc|inc|plc|corp|co)\.?$",
    re.IGNORECASE,
)


def _constants() -> Constants:
    constants = Constants()
    constants.titles.add(*EXTRA_TITLES)
    constants.suffix_acronyms.add(*EXTRA_SUFFIXES)
    return constants


_CONSTANTS = _constants()


def clean_display_name(name: str, address: str = "") -> str:
    """The display name without what is not a name: the `<address>` part, comments in
    brackets, quotes and a company tail; "" for a name that is only an address."""
    text = " ".join((name or "").split())
    if text.endswith(">") and "<" in text:
        text = text[: text.rindex("<")]
    text = _COMMENT.sub(" ", text)
    text = " ".join(text.split())
    text = _strip_quotes(text)
    text = _TAIL.sub("", text)
    text = _strip_quotes(text).strip(" ,;")
    if not text or ("@" in text and normalise_address(text) is not None):
        return ""
    if address and normalise_address(text) == normalise_address(address):
        return ""
    return text


def _strip_quotes(text: str) -> str:
    # Quotes around the whole name or around words ("'Jan Dvořák'", "Jan 'JD' Dvořák"
    # is rare); an apostrophe inside a word (O'Brien) stays.
    text = text.strip().strip(_QUOTES).strip()
    return re.sub(r"(?<!\w)[\"“”„«»`]|[\"“”„«»`](?!\w)", "", text).strip()


def split_name(name: str, address: str = "") -> tuple[str, str]:
    """(first, last) of a display name: "Last, First", "First Last", "First Middle
    Last" (middle names join the first name), quoted names, "Name <address>", with
    titles, suffixes, comments and company tails dropped. A lone word is a first
    name; a name that is only the address gives no names."""
    text = clean_display_name(name, address)
    if not text:
        return "", ""
    if all(_is_title(word) for word in text.replace(",", " ").split()):
        return "", ""  # only titles or suffixes ("Dr. Ing."): no name to keep
    text = _drop_company_after_comma(text)
    text = _surname_in_capitals_first(text)
    parsed = HumanName(text, constants=_CONSTANTS)
    first = " ".join(p for p in (parsed.first, parsed.middle) if p)
    last = parsed.last
    if not first and not last:
        return "", ""
    if not first and last:
        return last, ""
    return first, last


def _is_title(word: str) -> bool:
    key = word.lower().strip(".")
    return key in _CONSTANTS.titles or key in _CONSTANTS.suffix_acronyms or key in _CONSTANTS.suffix_not_acronyms


def _drop_company_after_comma(text: str) -> str:
    """ "Jan Novák, Stavby Morava s.r.o." names a company after the comma, not a first name."""
    head, comma, tail = text.partition(",")
    if comma and _COMPANY_FORM.search(tail.strip()) and len(head.split()) >= 2:
        return head.strip()
    return text


def _surname_in_capitals_first(text: str) -> str:
    """ "NOVÁK Jan" (the surname in capitals first, common in Czech and Polish
    directories) is read as "Novák, Jan"."""
    if "," in text:
        return text
    words = text.split()
    if len(words) == 2 and len(words[0]) > 2 and words[0].isupper() and not words[1].isupper():
        return f"{words[0].title()}, {words[1]}"
    return text
