"""Linking an Outlook contact never overwrites the CRM contact the user chose, and
every change a sync or the API makes to a CRM contact is in the contact's history."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import Contact, ContactChange
from tests.support.app_tokens import app_only_token
from tests.support.arrange_contacts import add_contact
from tests.support.emulated_contacts import edit_outlook_contact, outlook_contact
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, PAT


def fresh(crm, contact_id: int) -> Contact:
    crm.expire_all()
    return crm.get(Contact, contact_id)


def history(crm, contact_id: int) -> list[tuple]:
    crm.expire_all()
    rows = crm.scalars(select(ContactChange).where(ContactChange.contact_id == contact_id).order_by(ContactChange.id))
    return [(r.field, r.old_value, r.new_value, r.source, r.actor) for r in rows]


def larsen(crm) -> Contact:
    return add_contact(crm, CONTOSO, "Henrik Larsen", "henrik.larsen@alpineski.example", company="Alpine Ski House")


def test_linking_a_private_outlook_contact_keeps_the_crm_contacts_names(pane, emulator, crm):
    """The steps as a user took them: create the Outlook contact from
    "Henrik (private) <henrik.larsen@gmail.com>", then link it to the CRM's Larsen."""
    target = larsen(crm)
    user = pane()
    created = user.post("/outlook-contacts", json={"address": "henrik.larsen@gmail.com", "name": "Henrik (private)"})
    assert created.status_code == 200, created.json

    linked = user.post(f"/outlook-contacts/{created.json['id']}/link", json={"crm_contact_id": target.id})

    assert linked.status_code == 200, linked.json
    contact = fresh(crm, target.id)
    assert (contact.first_name, contact.last_name, contact.display_name) == ("Henrik", "Larsen", "Henrik Larsen")
    assert contact.company.name == "Alpine Ski House"
    # Outlook's address is added: the two are one person from now on.
    assert set(contact.addresses) == {"henrik.larsen@alpineski.example", "henrik.larsen@gmail.com"}
    found = user.get("/crm/contacts/search", query_string={"q": "Larsen"}).json["contacts"]
    assert target.id in [c["id"] for c in found]
    stored = outlook_contact(emulator, ADELE, created.json["id"])
    assert (stored["givenName"], stored["surname"], stored["displayName"]) == ("Henrik", "Larsen", "Henrik Larsen")
    assert stored["companyName"] == "Alpine Ski House"
    assert stored["crm_contact_id"] == str(target.id)
    assert linked.json["updated_in_crm"] == ["emails"]


def test_link_sends_the_crm_values_to_outlook_and_fills_only_empty_crm_fields(pane, emulator, crm):
    target = larsen(crm)
    user = pane()
    created = user.post("/outlook-contacts", json={"address": "henrik.larsen@gmail.com", "name": "Henrik"}).json
    # The Outlook contact was edited later than the CRM contact: at the moment of
    # linking the CRM still wins every field both sides hold.
    edit_outlook_contact(
        emulator,
        ADELE,
        created["id"],
        givenName="Hank",
        surname="(private)",
        displayName="Hank (private)",
        companyName="Home",
        jobTitle="Ski instructor",
        mobilePhone="+47 900 00 000",
    )

    linked = user.post(f"/outlook-contacts/{created['id']}/link", json={"crm_contact_id": target.id})

    assert linked.status_code == 200, linked.json
    contact = fresh(crm, target.id)
    assert (contact.first_name, contact.last_name, contact.display_name) == ("Henrik", "Larsen", "Henrik Larsen")
    assert contact.company.name == "Alpine Ski House"
    assert (contact.job_title, contact.mobile_phone) == ("Ski instructor", "+47 900 00 000")
    stored = outlook_contact(emulator, ADELE, created["id"])
    assert (stored["givenName"], stored["surname"], stored["displayName"], stored["companyName"]) == (
        "Henrik",
        "Larsen",
        "Henrik Larsen",
        "Alpine Ski House",
    )
    assert stored["jobTitle"] == "Ski instructor"

    # From now on the field-level merge applies: a later change in Outlook reaches the CRM.
    edit_outlook_contact(emulator, ADELE, created["id"], jobTitle="Head instructor")
    assert user.post(f"/outlook-contacts/{created['id']}/sync").status_code == 200
    assert fresh(crm, target.id).job_title == "Head instructor"

    changes = history(crm, target.id)
    assert ("job_title", None, "Ski instructor", "outlook", "Adele Vance") in changes
    assert ("mobile_phone", None, "+47 900 00 000", "outlook", "Adele Vance") in changes
    assert ("job_title", "Ski instructor", "Head instructor", "outlook", "Adele Vance") in changes
    assert not any(field in {"first_name", "last_name", "display_name", "company"} for field, *_ in changes)


def test_a_contact_created_by_sync_records_its_creation(pane, emulator, crm):
    created = pane().post("/outlook-contacts", json={"address": "nina.park@example.org", "name": "Park, Nina"}).json
    answer = pane().post(f"/outlook-contacts/{created['id']}/sync")
    assert answer.status_code == 200 and answer.json["created"] is True
    assert history(crm, answer.json["crm_contact_id"]) == [("contact", None, "Nina Park", "outlook", "Adele Vance")]


def test_api_patch_records_each_changed_field_with_the_caller(pane, crm):
    user = pane()
    created = user.post("/crm/contacts", json={"first_name": "Pavel", "last_name": "Dvořák", "job_title": "Jednatel"})
    assert created.status_code == 201, created.json
    url = f"/api/v1/crm/contacts/{created.json['id']}"

    patched = user.client.patch(
        url, headers=user.headers(), json={"job_title": "Ředitel", "mobile_phone": "+420 777", "last_name": "Dvořák"}
    )

    assert patched.status_code == 200, patched.json
    changes = history(crm, created.json["id"])
    assert changes[0][:4] == ("contact", None, "Pavel Dvořák", "api")
    assert changes[1:] == [
        ("job_title", "Jednatel", "Ředitel", "api", changes[0][4]),
        ("mobile_phone", None, "+420 777", "api", changes[0][4]),
    ]
    assert changes[0][4]  # the caller's name
    row = crm.scalar(select(ContactChange).where(ContactChange.field == "job_title"))
    assert row.tenant_id == CONTOSO and row.changed_at is not None

    assert user.client.delete(url, headers=user.headers()).status_code == 204
    assert history(crm, created.json["id"])[-1][:4] == ("contact", "Pavel Dvořák", None, "api")


def test_app_only_patch_is_recorded_as_the_integration(client, emulator, pane, crm):
    headers = {"Authorization": f"Bearer {app_only_token(emulator, FABRIKAM)}"}
    created = client.post("/api/v1/crm/contacts", headers=headers, json={"display_name": "From ERP"})
    assert created.status_code == 201, created.json
    patched = client.patch(f"/api/v1/crm/contacts/{created.json['id']}", headers=headers, json={"job_title": "Buyer"})
    assert patched.status_code == 200, patched.json
    [_, change] = history(crm, created.json["id"])
    assert change[:4] == ("job_title", None, "Buyer", "api") and change[4]
    row = crm.scalar(select(ContactChange).where(ContactChange.field == "job_title"))
    assert row.user_id is None and row.tenant_id == FABRIKAM
    assert pane(PAT).get(f"/crm/contacts/{created.json['id']}").status_code == 200
