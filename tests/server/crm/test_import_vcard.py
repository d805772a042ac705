"""vCard import: 3.0 and 4.0, one or many cards, bad cards with line numbers."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import Company
from tests.support.import_files import contacts_of, write

VCARD3 = """BEGIN:VCARD\r
VERSION:3.0\r
N:Dvořák;Pavel;;Ing.;\r
FN:Ing. Pavel Dvořák\r
ORG:Stavby Morava a.s.;Obchod\r
TITLE:Jednatel\r
EMAIL;TYPE=INTERNET,WORK:Pavel.Dvorak@stavby-morava.cz\r
EMAIL;TYPE=INTERNET,HOME:pavel.dvorak@seznam.cz\r
TEL;TYPE=WORK,VOICE:+420 543 210 987\r
TEL;TYPE=CELL:+420 777 123 456\r
NOTE:Met at the trade fair\\, Brno\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:3.0\r
N:Nowak;Agnieszka;;;\r
FN:Agnieszka Nowak\r
ORG:Mebleportal Sp. z o.o.\r
EMAIL;TYPE=INTERNET:agnieszka.nowak@mebleportal.pl\r
END:VCARD\r
"""

VCARD4 = """BEGIN:VCARD
VERSION:4.0
KIND:individual
FN:Jan Novák
N:Novák;Jan;;;
EMAIL;TYPE=work;PREF=1:jan.novak@bücher.cz
TEL;VALUE=uri;TYPE="work,voice":tel:+420-222-555-333
TEL;VALUE=uri;TYPE=cell:tel:+420-603-555-444
ORG:Knihy Bücher s.r.o.
TITLE:Vedoucí prodeje
END:VCARD
BEGIN:VCARD
VERSION:4.0
KIND:org
FN:Pivovar Bílina
ORG:Pivovar Bílina
END:VCARD
"""


def test_vcard_3_with_several_cards(importer, crm, tmp_path):
    summary = importer(write(tmp_path, "contacts.vcf", VCARD3))

    assert (summary.created, summary.errors) == (2, 0)
    pavel, agnieszka = contacts_of(crm)
    assert (pavel.first_name, pavel.last_name, pavel.display_name) == ("Pavel", "Dvořák", "Ing. Pavel Dvořák")
    assert pavel.addresses == ["pavel.dvorak@stavby-morava.cz", "pavel.dvorak@seznam.cz"]
    assert (pavel.business_phone, pavel.mobile_phone) == ("+420 543 210 987", "+420 777 123 456")
    assert (pavel.job_title, pavel.company.name) == ("Jednatel", "Stavby Morava a.s.")
    assert pavel.company.domains == ["stavby-morava.cz"]
    assert agnieszka.company.name == "Mebleportal Sp. z o.o."


def test_vcard_4_with_uri_phones_idn_address_and_an_organisation_card(importer, crm, tmp_path):
    summary = importer(write(tmp_path, "v4.vcf", VCARD4))

    assert (summary.created, summary.errors) == (1, 0)
    [jan] = contacts_of(crm)
    assert jan.addresses == ["jan.novak@xn--bcher-kva.cz"]
    assert (jan.business_phone, jan.mobile_phone) == ("+420-222-555-333", "+420-603-555-444")
    assert (jan.job_title, jan.company.name) == ("Vedoucí prodeje", "Knihy Bücher s.r.o.")
    assert sorted(crm.scalars(select(Company.name))) == ["Knihy Bücher s.r.o.", "Pivovar Bílina"]


def test_vcard_is_detected_by_content_whatever_the_file_is_called(importer, crm, tmp_path):
    summary = importer(write(tmp_path, "export.txt", VCARD3, bom=True))
    assert summary.created == 2


def test_vcard_reimport_updates_and_never_duplicates(importer, crm, tmp_path):
    importer(write(tmp_path, "a.vcf", VCARD3))
    summary = importer(write(tmp_path, "b.vcf", VCARD3.replace("+420 777 123 456", "+420 777 999 999")))

    assert (summary.created, summary.updated, summary.skipped) == (0, 1, 1)
    assert [c.mobile_phone for c in contacts_of(crm)] == ["+420 777 999 999", ""]


def test_bad_cards_are_reported_with_their_line_and_the_rest_import(importer, crm, tmp_path):
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:Good One\nN:One;Good;;;\nEMAIL:good1@example.com\nEND:VCARD\n"  # line 1
        "BEGIN:VCARD\nVERSION:3.0\nFN:Bad Address\nEMAIL:bad@@example.com\nEND:VCARD\n"  # line 7
        "BEGIN:VCARD\nVERSION:3.0\nNOTE:nobody\nEND:VCARD\n"  # line 12
        "BEGIN:VCARD\nVERSION:3.0\nthis line has no colon\nFN:Broken\nEND:VCARD\n"  # line 16
        "BEGIN:VCARD\nVERSION:3.0\nFN:Good Two\nEMAIL:good2@example.com\nEND:VCARD\n"  # line 21
        "BEGIN:VCARD\nVERSION:3.0\nFN:Unfinished\n"
    )  # line 26
    summary = importer(write(tmp_path, "bad.vcf", text))

    problems = [(p.line, p.reason.split(" (")[0]) for p in summary.problems]
    assert "this line has no colon" in summary.problems[2].reason
    assert problems == [
        (7, "malformed email address 'bad@@example.com'"),
        (12, "no name and no email address"),
        (16, "unreadable vCard"),
        (26, "the card has no END:VCARD"),
    ]
    assert [c.display_name for c in contacts_of(crm)] == ["Good One", "Good Two"]
