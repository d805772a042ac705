"""Email address normalisation: the one form addresses are stored and matched in.

DESIGN §5: trim, strip the display name, lower-case, IDNA-encode the domain.
"""
from __future__ import annotations

import re

import idna

# RFC 5321 limits.
MAX_ADDRESS = 254
MAX_LOCAL_PART = 64

# Characters that cannot appear in an unquoted local part (RFC 5322 specials,
# whitespace) and that no mail system hands out in practice.
_BAD_LOCAL = re.compile(r'[\s<>()\[\]\\,;:"\x00-\x1f\x7f]')
_PREFIXES = ("mailto:", "smtp:")


def normalise_address(raw: str | None) -> str | None:
    """Returns the normalised form of an address, or None if it is not a valid one.

    Accepts a bare address or one with a display name ("Name <a@b.com>",
    '"Doe, Jane" <a@b.com>'), a `mailto:`/`SMTP:` prefix, surrounding quotes.
    The local part is lower-cased; the domain is lower-cased and IDNA-encoded
    (UTS #46), so "Ann@BÜCHER.de" and "ann@xn--bcher-kva.de" are one address.
    """
    if not isinstance(raw, str):
        return None
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
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    address = f"{local.lower()}@{ascii_domain.lower()}"
    if len(address) > MAX_ADDRESS:
        return None
    return address


def address_domain(address: str) -> str:
    """The domain of a normalised address."""
    return address.rpartition("@")[2]


def display_domain(address: str) -> str:
    """The domain in Unicode, for people to read ("xn--bcher-kva.de" -> "bücher.de")."""
    domain = address_domain(address)
    try:
        return idna.decode(domain)
    except idna.IDNAError:
        return domain


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
