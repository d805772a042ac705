"""Every CRM page is scoped to the signed-in user's tenant: a Fabrikam user gets
404 for every Contoso id, on every route of the pages' blueprint."""

from __future__ import annotations

import re

import pytest

from server.crm.models import SyncJob
from tests.support.arrange_attachments import attach, attached_email_mime
from tests.support.arrange_contacts import add_contact
from tests.support.arrange_records import (
    add_case,
    add_rule,
    add_task,
    filed_email,
    user_of,
)
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, PAT, PAT_OID

ID_ARGUMENT = re.compile(r"<int:(\w+)>")


@pytest.fixture
def contoso(crm, clean_state):
    """One Contoso record of every kind, with names that must never leak."""
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example", company="Northwind Traders")
    case = add_case(crm, CONTOSO, "Northwind renewal", adele)
    task = add_task(crm, CONTOSO, "Send Northwind the contract", case)
    add_rule(crm, adele, case, "lynne.robbins@northwind.example")
    email = filed_email(
        crm,
        adele,
        subject="Northwind contract draft",
        links=[
            ("contact", lynne.id, "address"),
            ("company", lynne.company_id, "company"),
            ("case", case.id, "manual"),
            ("task", task.id, "manual"),
        ],
    )
    job = SyncJob(
        key="import:northwind",
        kind="crm_import",
        tenant_id=CONTOSO,
        user_id=adele.id,
        params={"name": "Northwind contacts.csv"},
        state="failed",
        error="UploadMissing: gone",
    )
    crm.add(job)
    crm.commit()
    forwarded = attach(
        crm, email, "Northwind price list", attached_email_mime(), content_type="message/rfc822", kind="item"
    )
    return {
        "attachment_id": forwarded.id,
        "index": 3,  # the attached email's PDF
        "email_id": email.id,
        "contact_id": lynne.id,
        "company_id": lynne.company_id,
        "case_id": case.id,
        "task_id": task.id,
        "user_id": adele.id,
        "job_id": job.id,
    }


def web_rules(app):
    return [
        rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("web.") and rule.endpoint != "web.static"
    ]


def test_every_page_with_an_id_answers_404_to_another_tenant(app, browser, contoso, crm):
    user_of(crm, FABRIKAM, PAT_OID, PAT)  # Pat's tenant exists; Pat, its Global Administrator, is its admin
    pat = browser(PAT)
    token = pat.csrf_token()
    checked = 0
    for rule in web_rules(app):
        names = ID_ARGUMENT.findall(rule.rule)
        if not names:
            continue
        missing = [n for n in names if n not in contoso]
        assert not missing, f"add a Contoso {missing} to the fixture for {rule.rule}"
        path = rule.build({n: contoso[n] for n in names})[1]
        if "GET" in rule.methods:
            response = pat.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert "Northwind" not in response.get_data(as_text=True)
            checked += 1
        if "POST" in rule.methods:
            response = pat.client.post(path, data={"csrf_token": token, "body": "x", "auto_sync": "off"})
            assert response.status_code == 404, (path, response.status_code)
            checked += 1
    assert checked >= 7


def test_lists_and_search_never_show_another_tenants_records(app, browser, contoso):
    pat = browser(PAT)
    for rule in web_rules(app):
        if ID_ARGUMENT.search(rule.rule) or "GET" not in rule.methods or rule.rule.startswith("/auth/"):
            continue
        for query in ({}, {"q": "north"}, {"q": "lynne"}):
            response = pat.get(rule.rule, query_string=query)
            assert response.status_code == 200, rule.rule
            body = response.get_data()  # bytes: the site icon is among these rules
            assert b"Northwind" not in body and b"Lynne" not in body, rule.rule


def test_the_same_pages_work_for_the_owning_tenant(browser, contoso):
    adele = browser(ADELE)
    for path in (
        f"/crm/emails/{contoso['email_id']}",
        f"/crm/contacts/{contoso['contact_id']}",
        f"/crm/companies/{contoso['company_id']}",
        f"/crm/cases/{contoso['case_id']}",
        f"/crm/tasks/{contoso['task_id']}",
    ):
        response = adele.get(path)
        assert response.status_code == 200, path
        assert "Northwind" in response.get_data(as_text=True)
