"""Internationalised domains show in Unicode on the CRM pages (people read
"knihy-bücher.cz", not "xn--knihy-bcher-zhb.cz"), while the database keeps the IDNA
form that matching compares."""

from __future__ import annotations

import html as html_lib

from server.crm.models import ContactEmail
from tests.support.arrange_contacts import add_contact
from tests.support.arrange_records import add_case, add_rule, filed_email, user_of
from tests.support.identities import ADELE, CONTOSO

ADELE_OID = "0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71"
IDNA = "jan.novak@xn--knihy-bcher-zhb.cz"
UNICODE = "jan.novak@knihy-bücher.cz"


def page(browser, path: str) -> str:
    response = browser(ADELE).get(path)
    assert response.status_code == 200
    return html_lib.unescape(response.get_data(as_text=True))


def shown_text(html: str) -> str:
    """The page without attribute values (a mailto: link keeps the IDNA form)."""
    return html.replace(f'href="mailto:{IDNA}"', "")


def test_contact_company_list_and_search_pages_show_unicode_domains(browser, crm, clean_state):
    jan = add_contact(crm, CONTOSO, "Jan Novák", "jan.novak@knihy-bücher.cz", company="Knihy Bücher")
    jan.company.domains = ["xn--knihy-bcher-zhb.cz"]
    crm.commit()
    assert crm.query(ContactEmail.address).filter_by(contact_id=jan.id).scalar() == IDNA  # matching form kept

    for path in (
        f"/crm/contacts/{jan.id}",
        f"/crm/companies/{jan.company_id}",
        "/crm/contacts",
        "/crm/companies",
        "/crm/search?q=novak",
        "/crm/search?q=knihy",
    ):
        html = shown_text(page(browser, path))
        assert "xn--" not in html, path
        assert UNICODE in html or "knihy-bücher.cz" in html, path


def test_email_and_case_pages_show_unicode_domains(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    email = filed_email(crm, adele, subject="Objednávka", sender=("", IDNA), to=["zofia@xn--d-uga0v4h.example"])
    html = page(browser, f"/crm/emails/{email.id}")
    assert UNICODE in html and "zofia@łódź.example" in html and "xn--" not in html
    case = add_case(crm, CONTOSO, "Knihy")
    add_rule(crm, adele, case, IDNA)
    html = page(browser, f"/crm/cases/{case.id}")
    assert UNICODE in html and "xn--" not in html
