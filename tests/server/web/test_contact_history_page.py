"""The contact's page shows its history: newest first, field, old -> new, source,
who and when, and only the changes of the signed-in user's tenant."""

from __future__ import annotations

import re

from server.crm.contact_changes import ChangedBy
from server.crm.contacts import apply_fields, delete_contact
from tests.support.arrange_contacts import add_contact
from tests.support.arrange_records import user_of
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, PAT

ADELE_OID = "0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71"
PAT_OID = "e7c3a9b1-2f5d-4a68-9b14-6c0e8d2f3a57"


def history_rows(html: str) -> list[str]:
    section = html.split('id="history"', 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]  # past the header row
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_the_contact_page_shows_its_history_newest_first(browser, crm, clean_state):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example")
    apply_fields(crm, lynne, {"job_title": "Buyer"}, ChangedBy("import", None, "import"))
    crm.commit()
    apply_fields(crm, lynne, {"job_title": "Head buyer", "mobile_phone": "+1 555"}, ChangedBy.user("outlook", adele))
    crm.commit()
    apply_fields(crm, lynne, {"last_name": "Robbins-Hart"}, ChangedBy("api", None, "ERP integration"))
    crm.commit()

    html = browser(ADELE).get(f"/crm/contacts/{lynne.id}").get_data(as_text=True)

    rows = history_rows(html)
    assert len(rows) == 4
    assert "Last name" in rows[0] and "Robbins → Robbins-Hart" in rows[0] and "API" in rows[0]
    assert "ERP integration" in rows[0]
    assert any("Title" in r and "Buyer → Head buyer" in r and "Outlook" in r and "Adele Vance" in r for r in rows[1:3])
    assert any("Mobile" in r and "(empty) → +1 555" in r for r in rows[1:3])
    assert "Title" in rows[3] and "(empty) → Buyer" in rows[3] and "Import" in rows[3]
    assert re.search(r"<time datetime=", html.split('id="history"', 1)[1])


def test_a_contact_without_changes_says_so(browser, crm, clean_state):
    user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example")
    html = browser(ADELE).get(f"/crm/contacts/{lynne.id}").get_data(as_text=True)
    assert "No changes recorded yet" in html


def test_another_tenant_sees_neither_the_contact_nor_its_history(browser, crm, clean_state):
    user_of(crm, CONTOSO, ADELE_OID, ADELE)
    user_of(crm, FABRIKAM, PAT_OID, PAT)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example")
    apply_fields(crm, lynne, {"job_title": "Secret title"}, ChangedBy("api", None, "x"))
    crm.commit()
    answer = browser(PAT).get(f"/crm/contacts/{lynne.id}")
    assert answer.status_code == 404
    assert "Secret title" not in answer.get_data(as_text=True)


def test_a_deleted_contacts_page_shows_who_deleted_it(browser, crm, clean_state):
    user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example")
    delete_contact(crm, CONTOSO, lynne.id, ChangedBy("api", None, "ERP integration"))
    rows = history_rows(browser(ADELE).get(f"/crm/contacts/{lynne.id}").get_data(as_text=True))
    assert len(rows) == 1 and "deleted" in rows[0] and "ERP integration" in rows[0]
