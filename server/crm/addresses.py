"""Email address normalisation: the one form addresses are stored and matched in.

Trim, strip the display name, lower-case, IDNA-encode the domain, so one mailbox
has one spelling however a sender, Outlook or a CSV file writes it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import idna

# RFC 5321 limits.
MAX_ADDRESS = 254
MAX_LOCAL_PART = 64

# Characters that cannot appear in an unquoted local part (RFC 5322 specials,
# whitespace) and that no mail system hands out in practice.
_BAD_LOCAL = re.compile(r'[\s<>()\[\]\\,;:"\x00-\x1f\x7f]')
_PREFIXES = ("mailto:", "smtp:")
# An ASCII domain that UTS #46 with STD3 rules returns unchanged but for case: LDH labels
# of 1-63 characters, no hyphen first, last or in 3rd+4th place (so no "xn--" label,
# which idna must check), 253 characters at most.
_LABEL = r"(?!..--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.IGNORECASE)
MAX_DOMAIN = 253


def normalise_address(raw: str | None) -> str | None:
    """Returns the normalised form of an address, or None if it is not a valid one.

    Accepts a bare address or one with a display name ("Name <a@b.com>",
    '"Doe, Jane" <a@b.com>'), a `mailto:`/`SMTP:` prefix, surrounding quotes.
    The local part is lower-cased; the domain is lower-cased and IDNA-encoded
    (UTS #46), so "Ann@BÜCHER.de" and "ann@xn--bcher-kva.de" are one address.
    """
    if not isinstance(raw, str):
        return None
    return _normalised(raw)


@functools.lru_cache(maxsize=65536)
def _normalised(raw: str) -> str | None:
    """normalise_address of a string. Cached: a pane open or sync normalises each of
    the message's addresses several times (people, matching, the user's own)."""
    text = raw.strip()
    if not text:
        return None
    if text.endswith(">") and "<" in text:
        # The address is inside the last <...>; anything before it is the display
        # name, which may itself contain commas, quotes or '@'.
        text = text[text.rindex("<") + 1 : -1].strip()
    text = text.strip("'\"").strip()
    lowered = text.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    if not local or len(local) > MAX_LOCAL_PART or _BAD_LOCAL.search(local):
        return None
    domain = domain.rstrip(".")
    if not domain:
        return None
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        return None
    address = f"{local.lower()}@{ascii_domain}"
    if len(address) > MAX_ADDRESS:
        return None
    return address


@functools.lru_cache(maxsize=65536)
def _ascii_domain(domain: str) -> str | None:
    """The lower-case IDNA (UTS #46) form of a domain, None if invalid. Cached: a pane
    open normalises each address several times, and idna costs ~0.1 ms a call (bench/b1_pane_api.py)."""
    if domain.isascii() and len(domain) <= MAX_DOMAIN and _PLAIN_DOMAIN.fullmatch(domain):
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True, std3_rules=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def address_domain(address: str) -> str:
    """The domain of a normalised address."""
    return address.rpartition("@")[2]


class InvalidDomain(ValueError):
    """A value that is not a domain name."""


def normalise_domains(domains: Iterable[str], *, drop_invalid: bool = False) -> list[str]:
    """Unique domains in the form addresses store them (IDNA, lower case, no leading
    '@'), in order. A malformed one raises InvalidDomain, or with `drop_invalid` is
    left out (the importer takes what it can from a file)."""
    result: list[str] = []
    for raw in domains:
        text = str(raw or "").strip().lstrip("@")
        address = normalise_address(f"x@{text}") if text else None
        if address is None:
            if drop_invalid:
                continue
            raise InvalidDomain(f"Not a domain name: {raw!r}.")
        domain = address_domain(address)
        if domain not in result:
            result.append(domain)
    return result


@functools.lru_cache(maxsize=4096)
def _unicode_domain(domain: str) -> str:
    """A domain's Unicode form; as it is when it has no IDNA label or is not valid IDNA."""
    if "xn--" not in domain.lower():
        return domain
    try:
        return idna.decode(domain)
    except (idna.IDNAError, UnicodeError, ValueError):
        return domain


def display_domain(address: str) -> str:
    """The domain in Unicode, for people to read ("xn--bcher-kva.de" -> "bücher.de")."""
    return _unicode_domain(address_domain(address))


def display_address(address: str | None) -> str:
    """An address (or a bare domain) as people read it: the domain in Unicode
    ("jan.novak@xn--knihy-bcher-zhb.cz" -> "jan.novak@knihy-bücher.cz"). Only for
    showing: addresses are stored and matched in their normalised (IDNA) form, and
    normalise_address turns this form back into that one. Anything else comes back
    as it is."""
    if not address:
        return address or ""
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{_unicode_domain(domain)}" if domain else address


def matches_never_sync(address: str, entries: list[str]) -> bool:
    """True if the address is on a never-sync list of addresses and domains.

    A domain entry ("example.com" or "@example.com") also covers its subdomains.
    """
    domain = address_domain(address)
    for entry in entries:
        entry = (entry or "").strip().lower()
        if not entry:
            continue
        if "@" in entry.lstrip("@"):
            if normalise_address(entry) == address:
                return True
            continue
        wanted = entry.lstrip("@").lstrip(".")
        try:
            wanted = idna.encode(wanted, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            continue
        if domain == wanted or domain.endswith("." + wanted):
            return True
    return False
