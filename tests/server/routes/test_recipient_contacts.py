"""POST /api/v1/people/contacts: a CRM contact made from a recipient's address and display
name alone (a message being written has no filed copy to read), once per address however
often it is asked for; and /people/match telling the pane whom to offer it to."""

from __future__ import annotations

import threading

from sqlalchemy import select

from server.crm.models import Contact, ContactEmail
from tests.support.arrange_contacts import seed_contoso
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, MEGAN, PAT

STRANGER = "jana.novak@newcustomer.example"
LYNNE = "lynne.robbins@northwind.example"


def contacts_with(crm, address: str) -> list[Contact]:
    crm.expire_all()
    query = (
        select(Contact).join(ContactEmail, ContactEmail.contact_id == Contact.id).where(ContactEmail.address == address)
    )
    return list(crm.scalars(query))


def test_match_says_who_is_external_and_who_is_on_the_never_sync_list(pane):
    user = pane()
    assert user.put("/settings/me", json={"never_sync": ["family.example"]}).status_code == 200
    people = user.post("/people/match", json={"addresses": [STRANGER, MEGAN, "mum@family.example"]}).json["people"]
    flags = {p["address"]: (p["external"], p["never_sync"]) for p in people}
    assert flags == {STRANGER: (True, False), MEGAN: (False, False), "mum@family.example": (True, True)}


def test_create_from_an_address_and_name_then_the_recipient_matches(pane, crm, emulator):
    user = pane()
    emulator.clear_requests()
    response = user.post("/people/contacts", json={"address": "Jana.Novak@NewCustomer.example", "name": "Jana Novák"})
    assert response.status_code == 200, response.json
    answer = response.json
    assert answer["created"] is True and answer["name"] == "Jana Novák"
    assert answer["person"]["address"] == STRANGER
    assert [c["id"] for c in answer["person"]["contacts"]] == [answer["crm_contact_id"]]
    assert answer["crm_url"].endswith(f"/crm/contacts/{answer['crm_contact_id']}")
    [contact] = contacts_with(crm, STRANGER)
    assert (contact.tenant_id, contact.first_name, contact.last_name) == (CONTOSO, "Jana", "Novák")
    # The pane's next match shows the recipient as a CRM contact.
    matched = user.post("/people/match", json={"addresses": [STRANGER]}).json["people"][0]
    assert [c["id"] for c in matched["contacts"]] == [answer["crm_contact_id"]]
    # No message is read: there is none yet.
    assert emulator.requests(path=r"/messages") == []


def test_a_double_click_makes_one_contact_answered_as_existing(pane, crm):
    user = pane()
    first = user.post("/people/contacts", json={"address": STRANGER, "name": "Jana Novak"})
    second = user.post("/people/contacts", json={"address": STRANGER, "name": "Jana Novak"})
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json["created"] is True and second.json["created"] is False
    assert second.json["crm_contact_id"] == first.json["crm_contact_id"]
    assert len(contacts_with(crm, STRANGER)) == 1


def test_an_existing_contact_is_answered_not_duplicated(pane, crm):
    seed_contoso(crm, CONTOSO)
    before = len(contacts_with(crm, LYNNE))
    answer = pane().post("/people/contacts", json={"address": LYNNE, "name": "Lynne"}).json
    assert answer["created"] is False
    assert len(contacts_with(crm, LYNNE)) == before


def test_the_contact_stays_in_the_callers_tenant(pane, crm):
    assert pane(PAT).post("/people/contacts", json={"address": STRANGER, "name": "Jana Novak"}).json["created"]
    assert [c.tenant_id for c in contacts_with(crm, STRANGER)] == [FABRIKAM]
    # Adele's tenant does not see Fabrikam's contact: hers is new, in her tenant.
    assert pane().post("/people/contacts", json={"address": STRANGER}).json["created"] is True
    assert sorted(c.tenant_id for c in contacts_with(crm, STRANGER)) == sorted([FABRIKAM, CONTOSO])


def test_malformed_or_own_addresses_are_refused_in_the_error_shape(pane, client):
    user = pane()
    cases = [
        (user.post("/people/contacts", json={}), None),
        (user.post("/people/contacts", json={"address": "not an address"}), "invalid_address"),
        (user.post("/people/contacts", json={"address": ADELE}), "own_address"),
        (user.post("/people/contacts", json={"address": STRANGER, "name": "x" * 600}), "field_too_long"),
        (user.post("/people/contacts", json={"address": STRANGER, "surprise": 1}), None),
        (client.post("/api/v1/people/contacts", json={"address": STRANGER}), None),  # no token
    ]
    for response, code in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.data[:200])
        error = response.json["error"]
        assert error["code"] and error["message"]
        if code:
            assert error["code"] == code


def test_the_openapi_document_describes_create(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/people/contacts"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert "requestBody" in operation and "200" in operation["responses"]
    person = spec["components"]["schemas"]["Person"]["properties"]
    assert {"external", "never_sync"} <= set(person)


def test_simultaneous_requests_for_one_address_make_one_contact(pane, crm):
    users = [pane() for _ in range(4)]
    answers = [None] * len(users)

    def create(n):
        answers[n] = users[n].post("/people/contacts", json={"address": STRANGER, "name": "Jana Novak"})

    threads = [threading.Thread(target=create, args=(n,)) for n in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * len(users), [a.json for a in answers]
    assert sorted(a.json["created"] for a in answers) == [False, False, False, True]
    assert len({a.json["crm_contact_id"] for a in answers}) == 1
    assert len(contacts_with(crm, STRANGER)) == 1
