"""Search: prefix of a name, an address or a company, case-insensitive, ranked,
and never another tenant's records."""

from __future__ import annotations

import re

import pytest

from tests.support.arrange_contacts import add_contact, seed_contoso
from tests.support.arrange_records import add_case, add_task, filed_email, user_of
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, PAT


@pytest.fixture
def tenants(crm, clean_state):
    contoso = seed_contoso(crm, CONTOSO)
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    filed_email(crm, adele, subject="Tailspin order 4711")
    add_case(crm, CONTOSO, "Lynne's warranty claim")
    add_task(crm, CONTOSO, "Call Diego")
    fabrikam = {
        "lyle": add_contact(
            crm, FABRIKAM, "Lyle Fabrikamsen", "lyle@northwind-fab.example", company="Northwind Fabrikam"
        ),
        "tail": add_contact(crm, FABRIKAM, "Tailor Person", "diego.s@fab.example", company="Tailspin Fab"),
    }
    return contoso, fabrikam


def section(html: str, title: str) -> str:
    match = re.search(rf'<h2 id="r-\w+">{title}</h2>(.*?)</section>', html, re.S)
    return match.group(1) if match else ""


def search(person, q: str) -> str:
    response = person.get("/crm/search", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("lyn", "Lynne Robbins"),  # first name
        ("ROBB", "Lynne Robbins"),  # last name, any case
        ("diego.sic", "Diego Siciliani"),  # address
        ("lynne.robbins@north", "Orders Desk"),  # an address two contacts share
        ("tailsp", "Diego Siciliani"),  # company
        ("  jan   nov", "Jan Novák"),  # display name, spaces collapsed
    ],
)
def test_finds_contacts_by_prefix_of_name_address_or_company(browser, tenants, query, expected):
    html = search(browser(ADELE), query)
    assert expected in section(html, "Contacts")


def test_ranks_name_matches_before_company_matches(browser, tenants, crm):
    add_contact(crm, CONTOSO, "Nora Smith", "nora@contoso.example", company="Lynnwood Partners")
    contacts = section(search(browser(ADELE), "lynn"), "Contacts")
    assert contacts.index("Lynne Robbins") < contacts.index("Nora Smith")


def test_finds_companies_emails_cases_and_tasks(browser, tenants):
    adele = browser(ADELE)
    assert "Northwind Traders" in section(search(adele, "northw"), "Companies")
    assert "Tailspin order 4711" in section(search(adele, "tailspin ord"), "Emails")
    assert "warranty claim" in section(search(adele, "lynne's"), "Cases")
    assert "Call Diego" in section(search(adele, "call"), "Tasks")


def test_prefix_means_prefix(browser, tenants):
    html = search(browser(ADELE), "obbins")
    assert "Lynne Robbins" not in html
    assert "Nothing starts with" in html


def test_like_wildcards_are_literal(browser, tenants):
    assert "Lynne Robbins" not in search(browser(ADELE), "%")
    assert "Lynne Robbins" not in search(browser(ADELE), "_ynne")


def test_never_finds_another_tenants_records(browser, tenants):
    adele, pat = browser(ADELE), browser(PAT)
    for q in ("lyl", "northwind", "tail", "diego.s", "fab"):
        html = search(adele, q)
        assert "Fabrikam" not in html and "Lyle" not in html and "Tailor" not in html, q
    for q in ("lyn", "northwind", "diego", "tailspin", "call", "jan"):
        html = search(pat, q)
        for contoso_name in (
            "Lynne",
            "Diego",
            "Orders Desk",
            "Northwind Traders",
            "Tailspin Toys",
            "Call Diego",
            "Novák",
        ):
            assert contoso_name not in html, (q, contoso_name)
    assert "Lyle Fabrikamsen" in section(search(pat, "lyl"), "Contacts")


def test_empty_query_explains_what_to_type(browser, tenants):
    html = search(browser(ADELE), "")
    assert "Type what you are looking for" in html


@pytest.mark.parametrize(
    "query, kind, expected",
    [
        ("novak", "Contacts", "Jan Novák"),
        ("NOVAK", "Contacts", "Jan Novák"),
        ("jan novak", "Contacts", "Jan Novák"),
        ("zielinski", "Contacts", "Tomasz Zieliński"),
        ("lodz", "Contacts", "Tomasz Zieliński"),  # by company; Ł is a letter Unicode keeps whole
        ("lodz", "Companies", "Łódź Meble"),
        ("bucher", "Companies", "Bücher"),
    ],
)
def test_finds_names_typed_without_accents(browser, tenants, crm, query, kind, expected):
    add_contact(crm, CONTOSO, "Tomasz Zieliński", "tomasz@meble.example", company="Łódź Meble")
    assert expected in section(search(browser(ADELE), query), kind)
