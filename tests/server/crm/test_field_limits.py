"""The CRM's one set of field limits: the model columns take their lengths from it,
and the import refuses a row over a limit in the words the API and the pages use."""

from __future__ import annotations

from server.crm import field_limits as limits
from server.crm.models import Case, Company, Contact, ContactEmail, Task
from tests.support.import_files import contacts_of, write

HEADER = "first_name,last_name,email,company,job_title,phone\n"
COLUMNS = {
    "first_name": [Contact.first_name],
    "last_name": [Contact.last_name],
    "display_name": [Contact.display_name],
    "job_title": [Contact.job_title],
    "business_phone": [Contact.business_phone],
    "mobile_phone": [Contact.mobile_phone],
    "company": [Company.name, Company.name_key],
    "title": [Case.title, Task.title],
}


def test_every_limited_column_is_exactly_as_long_as_its_limit():
    for kind, columns in COLUMNS.items():
        for column in columns:
            assert column.type.length == limits.limit_of(kind), (kind, column)
    # Stored normalised (an IDNA domain may grow); the limit is RFC 5321's 254.
    assert ContactEmail.address.type.length >= limits.EMAIL
    assert Case.description.type.length is None and limits.DESCRIPTION  # Text: the limit is ours alone


def test_the_import_reports_a_row_over_a_limit_with_its_line_and_stores_nothing_cut(importer, crm, tmp_path):
    rows = [
        "Lynne,Robbins,lynne@northwind.example,,,",
        "Pavel," + "Ň" * 257 + ",pavel@stavby.example,,,",
        "Diego," + "S" * 256 + ",diego@fourthcoffee.example,,,",
        "Megan,Bowen,megan@contoso.example,,," + "1" * 65,
        "Ann,Lee,ann@example.org," + "C" * 257 + ",,",
    ]
    summary = importer(write(tmp_path, "long.csv", HEADER + "\n".join(rows) + "\n"))

    assert [(p.line, p.reason) for p in summary.problems] == [
        (3, "Last name is too long: at most 256 characters."),
        (5, "Phone is too long: at most 64 characters."),
        (6, "Company name is too long: at most 256 characters."),
    ]
    assert summary.created == 2
    lynne, diego = contacts_of(crm)
    assert diego.last_name == "S" * 256  # at the limit: whole
    assert [c.addresses for c in (lynne, diego)] == [["lynne@northwind.example"], ["diego@fourthcoffee.example"]]


def test_a_name_made_of_two_names_at_their_limits_keeps_both_names_whole(importer, crm, tmp_path):
    importer(write(tmp_path, "two.csv", HEADER + "F" * 256 + "," + "L" * 256 + ",fl@example.org,,,\n"))
    [contact] = contacts_of(crm)
    assert (contact.first_name, contact.last_name) == ("F" * 256, "L" * 256)
    assert len(contact.display_name) == limits.DISPLAY_NAME
