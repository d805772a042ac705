"""One set of field limits: every way a value reaches the CRM (the records API, the
pane's routes, contact sync from Outlook) refuses a value over its field's limit
with the same 400 `field_too_long` and the same words, and stores nothing cut."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.crm.models import Case, Company, Contact, OutlookContactLink
from tests.support.arrange_contacts import add_contact
from tests.support.emulated_contacts import contacts_with, edit_outlook_contact, new_outlook_contact, outlook_contact
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"
LAST_NAME_TOO_LONG = "Last name is too long: at most 256 characters."
LONG = "Ň" * 257  # one over a name's limit, in characters (not bytes)


def count(crm, model) -> int:
    crm.expire_all()
    return crm.scalar(select(func.count()).select_from(model))


def assert_too_long(response, field: str, message: str, limit: int) -> None:
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert (error["code"], error["message"], error["field"], error["limit"]) == (
        "field_too_long",
        message,
        field,
        limit,
    )
    assert error["details"] == {field: [message]}


def patch(person, path, body):
    return person.client.patch(f"/api/v1{path}", headers=person.headers(), json=body)


def test_the_records_api_refuses_a_name_over_its_limit_and_takes_one_at_it(pane, crm):
    adele = pane(ADELE)
    assert_too_long(adele.post("/crm/contacts", json={"last_name": LONG}), "last_name", LAST_NAME_TOO_LONG, 256)
    assert count(crm, Contact) == 0

    whole = adele.post("/crm/contacts", json={"first_name": "Ň" * 256, "last_name": "Ň" * 256})
    assert whole.status_code == 201, whole.json
    contact = crm.get(Contact, whole.json["id"])
    assert (len(contact.first_name), len(contact.last_name)) == (256, 256)

    changed = patch(adele, f"/crm/contacts/{contact.id}", {"last_name": LONG})
    assert_too_long(changed, "last_name", LAST_NAME_TOO_LONG, 256)
    crm.expire_all()
    assert crm.get(Contact, contact.id).last_name == "Ň" * 256


@pytest.mark.parametrize(
    "path, body, field, message, limit",
    [
        ("/crm/contacts", {"job_title": "x" * 257}, "job_title", "Job title is too long: at most 256 characters.", 256),
        (
            "/crm/contacts",
            {"mobile_phone": "1" * 65},
            "mobile_phone",
            "Mobile phone is too long: at most 64 characters.",
            64,
        ),
        (
            "/crm/contacts",
            {"display_name": "x", "emails": ["a" * 64 + "@" + "b" * 200 + ".example"]},
            "emails",
            "Email address is too long: at most 254 characters.",
            254,
        ),
        ("/crm/companies", {"name": "x" * 257}, "name", "Company name is too long: at most 256 characters.", 256),
        ("/cases", {"title": "x" * 513}, "title", "Title is too long: at most 512 characters.", 512),
    ],
)
def test_every_field_over_its_limit_gets_the_same_error_shape(pane, crm, path, body, field, message, limit):
    assert_too_long(pane(ADELE).post(path, json=body), field, message, limit)
    assert count(crm, Contact) == count(crm, Company) == count(crm, Case) == 0


def test_create_crm_contact_from_a_sender_refuses_a_long_name_in_the_same_words(pane, emulator, crm):
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    adele = pane(ADELE)
    path = f"/messages/{message['id']}/contacts"
    address = "lynne.robbins@northwind.example"

    answer = adele.post(path, json={"address": address, "name": "Lynne " + LONG})
    assert_too_long(answer, "last_name", LAST_NAME_TOO_LONG, 256)
    answer = adele.post(path, json={"address": address, "name": "Lynne", "company": "x" * 257})
    assert_too_long(answer, "company", "Company name is too long: at most 256 characters.", 256)
    # The whole name is over a display name's limit: refused by the schema, in the CRM's words.
    answer = adele.post(path, json={"address": address, "name": "x " * 300})
    assert_too_long(answer, "name", "Name is too long: at most 512 characters.", 512)
    assert count(crm, Contact) == count(crm, Company) == 0


def test_outlook_values_over_a_limit_are_refused_not_cut_and_change_neither_side(pane, emulator, crm):
    adele = pane(ADELE)
    long_title = "Head of " + "x" * 300
    created = new_outlook_contact(
        emulator,
        ADELE,
        givenName="Otto",
        surname="Long",
        displayName="Otto Long",
        jobTitle=long_title,
        emailAddresses=[{"address": "otto@long.example", "name": "Otto Long"}],
    )

    answer = adele.post(f"/outlook-contacts/{created['id']}/sync")

    assert_too_long(answer, "job_title", "Job title is too long: at most 256 characters.", 256)
    assert count(crm, Contact) == 0
    assert outlook_contact(emulator, ADELE, created["id"])["jobTitle"] == long_title


def test_a_linked_outlook_contact_edited_over_a_limit_reports_it_in_the_refresh(pane, emulator, crm):
    adele = pane(ADELE)
    target = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example")
    found = contacts_with(emulator, ADELE, "lynne.robbins@northwind.example")[0]["id"]
    linked = adele.post(f"/outlook-contacts/{found}/link", json={"crm_contact_id": target.id})
    assert linked.status_code == 200, linked.json
    outlook_id = linked.json["outlook_contact_id"]
    crm.expire_all()
    kept_title = crm.get(Contact, target.id).job_title
    edit_outlook_contact(emulator, ADELE, outlook_id, surname=LONG)

    answer = adele.post("/outlook-contacts/refresh", json={"ids": [outlook_id]})

    assert answer.status_code == 200, answer.json
    [result] = answer.json["results"]
    assert (result["id"], result["ok"]) == (outlook_id, False)
    assert (result["error"]["code"], result["error"]["message"]) == ("field_too_long", LAST_NAME_TOO_LONG)
    crm.expire_all()
    contact = crm.get(Contact, target.id)
    assert (contact.last_name, contact.job_title) == ("Robbins", kept_title)
    assert outlook_contact(emulator, ADELE, outlook_id)["surname"] == LONG
    assert count(crm, OutlookContactLink) == 1
    # The pane's open of a message from that contact still works.
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    assert adele.get(f"/messages/{message['id']}").status_code == 200
