"""A user of another tenant (Pat, Fabrikam) reaches none of Contoso's contacts,
cases, tasks, emails, notes, conversation links or sharing rules: every route of
these blueprints that names a record answers 404, checked over the URL map."""

from __future__ import annotations

import re

from tests.support.arrange_contacts import seed_contoso
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO, PAT

BLUEPRINTS = (
    "outlook_contacts",
    "sender_contacts",
    "cases",
    "tasks",
    "email_links",
    "notes",
    "conversation_links",
    "sharing_rules",
)


def arrange_contoso(pane, emulator, crm) -> dict:
    """One of everything in Contoso; returns the URL parameter values to try."""
    seed_contoso(crm, CONTOSO)
    adele = pane(ADELE)
    message = find_message(emulator, ADELE, "Plain: order confirmation from Northwind")
    email_id = adele.post(f"/messages/{message['id']}/sync").json["crm_email_id"]
    outlook = adele.post("/outlook-contacts", json={"address": "iso@example.org", "name": "Iso Late"}).json
    synced = adele.post(f"/outlook-contacts/{outlook['id']}/sync").json
    case = adele.post("/cases", json={"title": "Contoso only"}).json
    task = adele.post("/tasks", json={"title": "Contoso task", "case_id": case["id"]}).json
    adele.post(f"/emails/{email_id}/links", json={"case_id": case["id"], "task_id": task["id"]})
    note = adele.post(f"/emails/{email_id}/notes", json={"body": "Contoso secret"}).json
    conversation = adele.post(f"/emails/{email_id}/conversation-links", json={"case_id": case["id"]}).json
    rule = adele.post(f"/cases/{case['id']}/sharing-rules", json={"address": "lynne.robbins@northwind.example"}).json
    return {
        "contact_id": outlook["id"],
        "message_id": message["id"],
        "email_id": email_id,
        "case_id": case["id"],
        "task_id": task["id"],
        "note_id": note["id"],
        "link_id": conversation["links"][0]["id"],
        "rule_id": rule["rule"]["id"],
        "target_type": "case",
        "target_id": case["id"],
        "crm_contact_id": synced["crm_contact_id"],
    }


BODIES = {
    "outlook_contacts.link": lambda ids: {"crm_contact_id": ids["crm_contact_id"]},
    "sender_contacts.create_from_sender": lambda ids: {
        "address": "lynne.robbins@northwind.example",
        "link_email": True,
    },
    "email_links.link_email": lambda ids: {"case_id": ids["case_id"]},
    "conversation_links.link_conversation": lambda ids: {"case_id": ids["case_id"]},
    "notes.add_note": lambda ids: {"body": "Fabrikam was here"},
    "sharing_rules.add_sharing_rule": lambda ids: {"address": "someone@example.org"},
}


def test_another_tenant_gets_404_on_every_record_route(app, pane, emulator, crm):
    ids = arrange_contoso(pane, emulator, crm)
    pat = pane(PAT)
    checked = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint not in BLUEPRINTS or not rule.arguments:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([a-z_]+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        path = path.removeprefix("/api/v1")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = BODIES.get(rule.endpoint, lambda _: None)(ids)
            response = {"GET": pat.get, "DELETE": pat.delete}.get(method, None)
            response = response(path) if response else pat.post(path, json=body if body is not None else {})
            assert response.status_code == 404, (method, path, response.status_code, response.json)
            assert response.json["error"]["code"].endswith("not_found")
            checked.append((method, rule.rule))
    assert len(checked) >= 17


def test_another_tenant_lists_and_searches_none_of_contoso(pane, emulator, crm):
    ids = arrange_contoso(pane, emulator, crm)
    pat = pane(PAT)
    assert pat.post("/outlook-contacts/refresh", json={"ids": [ids["contact_id"]]}).json["results"] == []
    assert pat.get("/cases").json["cases"] == []
    assert pat.get("/tasks").json["tasks"] == []
    for q in ("lynne", "northwind", "iso", "contoso"):
        assert pat.get("/crm/contacts/search", query_string={"q": q}).json["contacts"] == []
    # Pat's own records stay Pat's.
    mine = pat.post("/cases", json={"title": "Fabrikam case"}).json
    assert [c["id"] for c in pat.get("/cases").json["cases"]] == [mine["id"]]
    assert all(c["title"] != "Fabrikam case" for c in pane(ADELE).get("/cases").json["cases"])
