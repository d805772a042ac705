"""Address normalisation: one stored form per mailbox, whatever Outlook shows."""

import pytest

from server.crm.addresses import display_address, display_domain, matches_never_sync, normalise_address


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("adele.vance@contoso.com", "adele.vance@contoso.com"),
        ("  Adele.Vance@CONTOSO.com  ", "adele.vance@contoso.com"),
        ("Adele Vance <Adele.Vance@contoso.com>", "adele.vance@contoso.com"),
        ('"Vance, Adele" <adele.vance@contoso.com>', "adele.vance@contoso.com"),
        ('"a@b.com, the boss" <real@contoso.com>', "real@contoso.com"),
        ("<adele@contoso.com>", "adele@contoso.com"),
        ("'adele@contoso.com'", "adele@contoso.com"),
        ("mailto:Adele@Contoso.com", "adele@contoso.com"),
        ("SMTP:adele@contoso.com", "adele@contoso.com"),
        ("adele@contoso.com.", "adele@contoso.com"),
        ("jürgen@bücher.de", "jürgen@xn--bcher-kva.de"),
        ("ANN@BÜCHER.DE", "ann@xn--bcher-kva.de"),
        ("ann@xn--bcher-kva.de", "ann@xn--bcher-kva.de"),
        ("user@例え.jp", "user@xn--r8jz45g.jp"),
        ("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"),
        ("Name <a@b>", "a@b"),
    ],
)
def test_valid_addresses_are_normalised(raw, expected):
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "adele",
        "adele@",
        "@contoso.com",
        "a@@contoso.com",
        "a@b@contoso.com",
        "adele vance@contoso.com",
        "adele@contoso..com",
        "adele@-contoso.com",
        "adele@con_toso.com",
        "a,b@contoso.com",
        "a(b)@contoso.com",
        "Adele <>",
        "x" * 65 + "@contoso.com",
        "a@" + "b" * 64 + ".com",
        "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=ADELE",
        12,
    ],
)
def test_malformed_addresses_are_rejected(raw):
    assert normalise_address(raw) is None


def test_normalising_twice_changes_nothing():
    once = normalise_address('"Müller, Jörg" <Jörg.Müller@Bücher.DE>')
    assert once is not None
    assert normalise_address(once) == once


def test_display_domain_turns_punycode_back_into_unicode():
    assert display_domain("ann@xn--bcher-kva.de") == "bücher.de"


def test_never_sync_covers_addresses_domains_and_subdomains():
    entries = ["Private@Example.org", "@family.net", "bücher.de"]
    assert matches_never_sync("private@example.org", entries)
    assert not matches_never_sync("work@example.org", entries)
    assert matches_never_sync("mum@family.net", entries)
    assert matches_never_sync("mum@mail.family.net", entries)
    assert not matches_never_sync("mum@notfamily.net", entries)
    assert matches_never_sync("ann@xn--bcher-kva.de", entries)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("jan.novak@xn--knihy-bcher-zhb.cz", "jan.novak@knihy-bücher.cz"),
        ("zofia@xn--d-uga0v4h.example", "zofia@łódź.example"),
        ("lynne@northwind.example", "lynne@northwind.example"),
        ("xn--bcher-kva.de", "bücher.de"),  # a bare domain (company domains, sharing rules)
        ("broken@xn--zz", "broken@xn--zz"),  # not valid IDNA: shown as it is
        ("", ""),
        (None, ""),
    ],
)
def test_display_address_shows_the_domain_in_unicode(stored, shown):
    assert display_address(stored) == shown
    if stored and "@" in stored and shown != stored:
        assert normalise_address(shown) == stored  # what people read matches as before
