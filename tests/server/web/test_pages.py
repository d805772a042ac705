"""The record pages: what each shows, keyset pagination, empty states."""

from __future__ import annotations

import re

from server.crm.models import OutlookContactLink
from tests.support.arrange_contacts import add_contact
from tests.support.arrange_records import (
    add_case,
    add_rule,
    add_task,
    filed_email,
    user_of,
)
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, MEGAN, MEGAN_OID


def subjects(html: str) -> list[str]:
    return re.findall(r'<a class="row-main" href="/crm/emails/\d+">([^<]*)</a>', html)


def next_link(html: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="next">', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_email_list_pages_by_keyset_newest_first(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    for n in range(30):
        filed_email(crm, adele, subject=f"Message {n:02d}", minutes=100 + n)
    page = browser(ADELE)
    first = page.get("/crm/emails").get_data(as_text=True)
    seen = subjects(first)
    assert seen[:2] == ["Message 29", "Message 28"] and len(seen) == 25
    link = next_link(first)
    assert link and "after=" in link
    second = page.get(link).get_data(as_text=True)
    assert subjects(second) == [f"Message {n:02d}" for n in range(4, -1, -1)]
    assert next_link(second) is None and "First page" in second


def test_paging_walks_every_email_once_including_undated_ones(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example")
    expected = set()
    for n in range(26):
        filed_email(
            crm,
            adele,
            subject=f"Dated {n:02d}",
            minutes=1 + n % 13,  # ties on the date
            links=[("contact", lynne.id, "address")],
        )
        expected.add(f"Dated {n:02d}")
    for n in range(3):
        filed_email(crm, adele, subject=f"Draft {n}", undated=True, links=[("contact", lynne.id, "address")])
        expected.add(f"Draft {n}")
    person = browser(ADELE)
    for start in ("/crm/emails", f"/crm/contacts/{lynne.id}"):
        seen, link = [], start
        while link:
            html = person.get(link).get_data(as_text=True)
            seen += subjects(html)
            link = next_link(html)
        assert len(seen) == len(expected) and set(seen) == expected, start
        dated = [s for s in seen if s.startswith("Dated")]
        assert dated[0] in ("Dated 12", "Dated 25")  # newest first


def test_a_tampered_page_link_is_a_400_page(browser, clean_state):
    response = browser(ADELE).get("/crm/emails?after=bm90LWpzb24")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_empty_states_say_what_to_do_next(browser, clean_state):
    adele = browser(ADELE)
    expectations = {
        "/crm/emails": "Sync email",
        "/crm/contacts": "Create CRM contact",
        "/crm/companies": "company name",
        "/crm/cases": "create a case",
        "/crm/tasks": "create a task",
        "/crm/": "Nothing filed yet",
    }
    for path, hint in expectations.items():
        html = adele.get(path).get_data(as_text=True)
        assert 'class="empty"' in html and hint in html, path


def test_contact_page_shows_company_outlook_link_and_timeline(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example", company="Northwind Traders")
    lynne.job_title = "Buyer"
    crm.add(OutlookContactLink(tenant_id=CONTOSO, user_id=adele.id, outlook_contact_id="AAMk-1", contact_id=lynne.id))
    crm.commit()
    filed_email(crm, adele, subject="First contact", minutes=1, links=[("contact", lynne.id, "address")])
    filed_email(crm, adele, subject="Follow-up", minutes=9, links=[("contact", lynne.id, "address")])
    filed_email(crm, adele, subject="Unrelated", minutes=5)
    html = browser(ADELE).get(f"/crm/contacts/{lynne.id}").get_data(as_text=True)
    assert "Buyer" in html and f'href="/crm/companies/{lynne.company_id}"' in html
    assert "Linked with the Outlook contacts of" in html and "Adele Vance" in html
    assert subjects(html) == ["Follow-up", "First contact"]


def test_contact_without_outlook_link_says_how_to_link(browser, crm, clean_state):
    diego = add_contact(crm, CONTOSO, "Diego Siciliani", "diego@tailspin.example")
    html = browser(ADELE).get(f"/crm/contacts/{diego.id}").get_data(as_text=True)
    assert "Not linked to an Outlook contact" in html and "No emails with this contact yet" in html


def test_deleted_contact_page_says_so(browser, crm, clean_state):
    gone = add_contact(crm, CONTOSO, "Old Colleague", "old@northwind.example")
    gone.soft_delete()
    crm.commit()
    html = browser(ADELE).get(f"/crm/contacts/{gone.id}").get_data(as_text=True)
    assert "This contact was deleted" in html


def test_company_page_lists_contacts_and_emails(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example", company="Northwind Traders")
    add_contact(crm, CONTOSO, "Orders Desk", "orders@northwind.example", company="Northwind Traders")
    filed_email(crm, adele, subject="Company news", links=[("company", lynne.company_id, "company")])
    html = browser(ADELE).get(f"/crm/companies/{lynne.company_id}").get_data(as_text=True)
    assert "Lynne Robbins" in html and "Orders Desk" in html and "Contacts (2)" in html
    assert subjects(html) == ["Company news"]


def test_case_page_shows_emails_tasks_and_everyones_sharing_rules(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    megan = user_of(crm, CONTOSO, MEGAN_OID, MEGAN)
    case = add_case(crm, CONTOSO, "Warranty claim 17", adele)
    add_task(crm, CONTOSO, "Ask for the invoice", case)
    add_rule(crm, adele, case, "claims@northwind.example")
    add_rule(crm, megan, case, "support@northwind.example")
    filed_email(crm, adele, subject="Claim details", links=[("case", case.id, "manual")])
    html = browser(MEGAN).get(f"/crm/cases/{case.id}").get_data(as_text=True)
    assert "Warranty claim 17" in html and "Ask for the invoice" in html
    assert "claims@northwind.example" in html and "support@northwind.example" in html  # Adele's rule too
    assert "Adele Vance" in html and subjects(html) == ["Claim details"]


def test_task_page_shows_case_and_emails(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    case = add_case(crm, CONTOSO, "Renewal", adele)
    task = add_task(crm, CONTOSO, "Send the contract", case)
    filed_email(crm, adele, subject="Contract v2", links=[("task", task.id, "manual")])
    html = browser(ADELE).get(f"/crm/tasks/{task.id}").get_data(as_text=True)
    assert "Send the contract" in html and f'href="/crm/cases/{case.id}"' in html
    assert subjects(html) == ["Contract v2"]


def test_unknown_ids_are_a_friendly_404_page(browser, clean_state):
    response = browser(ADELE).get("/crm/emails/999999")
    assert response.status_code == 404
    assert response.mimetype == "text/html" and "Not found" in response.get_data(as_text=True)


def test_pages_need_no_inline_script_or_style_element(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    email = filed_email(crm, adele)
    person = browser(ADELE)
    for path in ("/crm/", "/crm/emails", f"/crm/emails/{email.id}", "/crm/settings", "/crm/search?q=x"):
        html = person.get(path).get_data(as_text=True)
        assert "<script" not in html and "<style" not in html, path
        assert 'href="/crm/static/crm.css"' in html
    assert person.get("/crm/static/crm.css").status_code == 200
