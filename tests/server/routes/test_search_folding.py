"""Search through the API ignores case and accents: the REST API's `?q=` on contacts
and companies, and the pane's "Link contact with CRM" search."""

from __future__ import annotations

import pytest

from tests.support.arrange_contacts import add_contact
from tests.support.identities import CONTOSO, FABRIKAM

PEOPLE = [
    ("Antonín Dvořák", "antonin@orchestr.example", "Łódzka Filharmonie"),
    ("Jan Novák", "jan.novak@knihy-bücher.cz", None),
    ("Eva Svobodová", "eva@svobodova.example", None),
    ("Tomasz Zieliński", "tomasz@meble.example", "Żółć Meble"),
    ("Søren Øberg", "soren@ørsted.example", None),
]


@pytest.fixture
def people(crm, clean_state):
    found = {name: add_contact(crm, CONTOSO, name, address, company=company) for name, address, company in PEOPLE}
    add_contact(crm, FABRIKAM, "Jan Novák", "jan@fabrikam.example")
    return {name: contact.id for name, contact in found.items()}


@pytest.mark.parametrize(
    ("q", "name"),
    [
        ("dvorak", "Antonín Dvořák"),
        ("DVORAK", "Antonín Dvořák"),
        ("novak", "Jan Novák"),
        ("Novák", "Jan Novák"),
        ("svobodova", "Eva Svobodová"),
        ("zielinski", "Tomasz Zieliński"),
        ("tomasz ziel", "Tomasz Zieliński"),
        ("zolc", "Tomasz Zieliński"),  # by company
        ("lodz", "Antonín Dvořák"),  # by company: Ł is not decomposed by Unicode
        ("oberg", "Søren Øberg"),
    ],
)
def test_pane_and_api_find_names_typed_without_accents(pane, people, q, name):
    user = pane()
    linked = user.get("/crm/contacts/search", query_string={"q": q})
    assert linked.status_code == 200, linked.json
    assert [c["id"] for c in linked.json["contacts"]] == [people[name]]
    listed = user.get("/crm/contacts", query_string={"q": q})
    assert listed.status_code == 200, listed.json
    assert [c["id"] for c in listed.json["items"]] == [people[name]]


def test_companies_are_found_without_accents(pane, people):
    user = pane()
    for q in ("lodz", "lodzka f", "ZOLC"):
        found = user.get("/crm/companies", query_string={"q": q}).json["items"]
        assert len(found) == 1, q
    assert [c["name"] for c in user.get("/crm/companies", query_string={"q": "lodz"}).json["items"]] == [
        "Łódzka Filharmonie"
    ]


def test_the_link_search_shows_internationalised_domains_in_unicode(pane, people):
    found = pane().get("/crm/contacts/search", query_string={"q": "novak"}).json["contacts"]
    assert [(c["emails"], c["display_emails"]) for c in found] == [
        (["jan.novak@xn--knihy-bcher-zhb.cz"], ["jan.novak@knihy-bücher.cz"])
    ]
