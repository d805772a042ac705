"""POST /api/v1/people/match: the compose pane's recipients matched to CRM contacts
exactly as the message view matches a message's people, with no Graph call."""

from __future__ import annotations

from tests.support.arrange_contacts import seed_contoso
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO, PAT

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"
LYNNE = "lynne.robbins@northwind.example"


def test_match_answers_the_message_views_people_and_contacts(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    in_view = next(p for p in pane().get(f"/messages/{message['id']}").json["people"] if p["address"] == LYNNE)
    emulator.clear_requests()

    response = pane().post(
        "/people/match", json={"addresses": ["Lynne.Robbins@Northwind.example", ADELE, LYNNE, "nobody@nowhere.example"]}
    )

    assert response.status_code == 200, response.json
    people = response.json["people"]
    assert [p["address"] for p in people] == [LYNNE, "nobody@nowhere.example"]  # once each; not the user
    lynne, nobody = people
    assert lynne["contacts"] == in_view["contacts"] and len(lynne["contacts"]) == 2
    assert set(lynne) == set(in_view)
    assert (lynne["role"], lynne["valid"], lynne["outlook_contact_id"]) == ("to", True, None)
    assert nobody["contacts"] == [] and nobody["valid"] is True
    assert emulator.requests(path=r"^/v1\.0/") == []  # matching needs no Graph call


def test_match_stays_in_the_callers_tenant(pane, crm, emulator):
    seed_contoso(crm, CONTOSO)
    response = pane(PAT).post("/people/match", json={"addresses": [LYNNE]})
    assert response.status_code == 200, response.json
    assert response.json["people"][0]["contacts"] == []


def test_match_marks_entries_that_are_not_addresses_invalid(pane):
    response = pane().post("/people/match", json={"addresses": ["not an address", ""]})
    assert response.status_code == 200, response.json
    assert [(p["address"], p["valid"]) for p in response.json["people"]] == [("not an address", False)]


def test_malformed_match_requests_get_4xx_with_the_error_shape(pane, client):
    user = pane()
    cases = [
        user.post("/people/match", json={}),
        user.post("/people/match", json={"addresses": "a@b.example"}),
        user.post("/people/match", json={"addresses": [1, 2]}),
        user.post("/people/match", json={"addresses": ["a@b.example"] * 501}),
        user.post("/people/match", json={"addresses": ["x" * 321]}),
        user.post("/people/match", data="{not json", content_type="application/json"),
        client.post("/api/v1/people/match", json={"addresses": []}),  # no token
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.data[:200])
        error = response.json["error"]
        assert error["code"] and error["message"]


def test_the_openapi_document_describes_match(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/people/match"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert "requestBody" in operation and "200" in operation["responses"]
    person = spec["components"]["schemas"]["Person"]["properties"]
    assert {"address", "contacts", "valid", "role"} <= set(person)
