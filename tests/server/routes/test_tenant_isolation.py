"""A valid token of one tenant, replayed against another tenant's ids, gets 404 on every
API route that takes an id (CRM records, cases, emails, notes, jobs, messages, Outlook
contacts), and nothing of the other tenant changes."""

from __future__ import annotations

import re
from datetime import date

import pytest

from server.crm.models import Contact, ConversationLink, Note
from server.sync.bulk import enqueue_bulk
from tests.support.arrange_attachments import attach
from tests.support.arrange_contacts import add_contact
from tests.support.arrange_records import (
    add_case,
    add_rule,
    add_task,
    filed_email,
    user_of,
)
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, PAT, PAT_OID

ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

# A valid body for each write, so the request reaches the lookup instead of a 400.
BODIES = {
    "sharing_rules.add_sharing_rule": {"address": "someone@example.org"},
    "email_links.link_email": {"new_case": {"title": "Pat's case"}},
    "conversation_links.link_conversation": {"new_case": {"title": "Pat's case"}},
    "notes.add_note": {"body": "Pat was here"},
    "crm_contacts.update_contact": {"first_name": "Hacked"},
    "crm_companies.update_company": {"name": "Hacked"},
    "messages.mark": {"state": "synced"},
    "outlook_contacts.link": {"crm_contact_id": 1},
    "sender_contacts.create_from_sender": {"address": "lynne.robbins@northwind.example"},
    "settings.restrict_user": {"auto_sync": "off"},
}


@pytest.fixture
def contoso(app, crm, clean_state, emulator):
    """Contoso records of every kind an API route takes an id of."""
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example", company="Northwind Traders")
    case = add_case(crm, CONTOSO, "Northwind renewal", adele)
    task = add_task(crm, CONTOSO, "Send Northwind the contract", case)
    rule = add_rule(crm, adele, case, "lynne.robbins@northwind.example")
    email = filed_email(
        crm,
        adele,
        subject="Northwind contract draft",
        conversation_id="conv-northwind",
        links=[("contact", lynne.id, "address"), ("case", case.id, "manual")],
    )
    note = Note(tenant_id=CONTOSO, email_id=email.id, author_id=adele.id, body="Contoso only")
    link = ConversationLink(
        tenant_id=CONTOSO,
        conversation_id="conv-northwind",
        target_type="case",
        target_id=case.id,
        created_by_id=adele.id,
    )
    crm.add_all([note, link])
    crm.commit()
    attachment = attach(crm, email, "Northwind contract.pdf", b"%PDF Contoso only")
    job_id = enqueue_bulk(app, adele, "inbox", date(2026, 1, 1), submit=False)
    message = find_message(emulator, ADELE, "Plain: order confirmation from Northwind", immutable=True)
    token = emulator.graph_token(ADELE)
    outlook_contact = emulator.graph("GET", "/me/contacts", token, params={"$top": "1"}).json()["value"]
    return {
        "contact_id": lynne.id,
        "user_id": adele.id,
        "company_id": lynne.company_id,
        "case_id": case.id,
        "task_id": task.id,
        "rule_id": rule.id,
        "email_id": email.id,
        "note_id": note.id,
        "attachment_id": attachment.id,
        "link_id": link.id,
        "job_id": job_id,
        "target_id": case.id,
        "target_type": "case",
        "message_id": message["id"],
        "outlook_contact": outlook_contact[0]["id"] if outlook_contact else "AAMkAGI2-none",
    }


def api_rules_with_ids(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and ARGUMENT.search(rule.rule):
            yield rule


def test_another_tenants_ids_are_404_on_every_api_route(app, client, crm, contoso, emulator):
    user_of(crm, FABRIKAM, PAT_OID, PAT)
    headers = {"Authorization": f"Bearer {emulator.pane_token(PAT)}"}
    checked = []
    for rule in api_rules_with_ids(app):
        values = {}
        for _converter, name in ARGUMENT.findall(rule.rule):
            key = "outlook_contact" if rule.endpoint.startswith("outlook_contacts.") and name == "contact_id" else name
            assert key in contoso, f"add a Contoso {key} to the fixture for {rule.rule}"
            values[name] = contoso[key]
        path = rule.build(values)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(
                path,
                method=method,
                headers=headers,
                json=BODIES.get(rule.endpoint) if method in ("POST", "PUT", "PATCH") else None,
            )
            assert response.status_code == 404, (method, path, response.status_code, response.json)
            assert "Northwind" not in response.get_data(as_text=True), (method, path)
            assert set(response.json) == {"error"} and response.json["error"]["code"]
            checked.append(f"{method} {rule.rule}")
    assert len(checked) >= 25, checked

    crm.expire_all()
    lynne = crm.get(Contact, contoso["contact_id"])
    assert lynne.first_name == "Lynne" and lynne.deleted_at is None
    assert crm.get(Note, contoso["note_id"]) is not None
