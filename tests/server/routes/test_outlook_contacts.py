"""Contacts both ways, end to end: the pane's calls over real auth, the emulator's
Graph over HTTPS and the real database."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select

from server.auth import trusted_session
from server.crm.models import Company, Contact, EmailLink, OutlookContactLink
from server.graph import GraphClient
from server.graph import properties as props
from server.sync.contact_fields import OUTLOOK_CONTACT_FIELDS
from server.sync.mailbox import open_mailbox
from server.sync.outlook_contact_sync import refresh_found_contacts
from tests.support.arrange_contacts import add_contact, seed_contoso
from tests.support.emulated_contacts import (
    contacts_with,
    edit_outlook_contact,
    new_outlook_contact,
    outlook_contact,
)
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"


def fresh(crm, model, record_id):
    crm.expire_all()
    return crm.get(model, record_id)


def count(crm, model, *where):
    return crm.scalar(select(func.count()).select_from(model).where(*where))


def crm_edit(crm, contact_id, **fields):
    """What a colleague does on the CRM page: change fields (updated_at moves)."""
    contact = fresh(crm, Contact, contact_id)
    for name, value in fields.items():
        setattr(contact, name, value)
    crm.commit()
    return contact


# -- create in Outlook -------------------------------------------------------------------


def test_create_outlook_contact_appears_once_even_when_asked_twice(pane, emulator):
    user = pane()
    first = user.post("/outlook-contacts", json={"address": "Ann.Lee@Example.org", "name": "Lee, Ann"})
    assert first.status_code == 200, first.json
    assert first.json["created"] is True

    stored = outlook_contact(emulator, ADELE, first.json["id"])
    assert stored["givenName"] == "Ann" and stored["surname"] == "Lee"
    assert stored["displayName"] == "Ann Lee"
    assert stored["emailAddresses"][0]["address"] == "Ann.Lee@Example.org"

    second = user.post("/outlook-contacts", json={"address": "ann.lee@example.org", "name": "Ann Lee"})
    assert second.status_code == 200
    assert second.json["created"] is False and second.json["id"] == first.json["id"]
    assert len(contacts_with(emulator, ADELE, "ann.lee@example.org")) == 1


def test_create_outlook_contact_parses_first_last_and_quoted_names(pane, emulator):
    user = pane()
    for address, name, given, surname in [
        ("ben@example.org", "Ben van Dijk", "Ben", "van Dijk"),
        ("cara@example.org", '"Moss, Cara"', "Cara", "Moss"),
        ("dev@example.org", "dev@example.org", None, None),
    ]:
        answer = user.post("/outlook-contacts", json={"address": address, "name": name})
        assert answer.status_code == 200, answer.json
        stored = outlook_contact(emulator, ADELE, answer.json["id"])
        assert (stored.get("givenName") or None, stored.get("surname") or None) == (given, surname)
        assert stored["displayName"]


def test_existing_fixture_contact_is_returned_for_its_address(pane, emulator):
    answer = pane().post(
        "/outlook-contacts", json={"address": "lynne.robbins@northwind.example", "name": "Robbins, Lynne"}
    )
    assert answer.json["created"] is False
    assert len(contacts_with(emulator, ADELE, "lynne.robbins@northwind.example")) == 1


def test_create_outlook_contact_rejects_a_malformed_address(pane):
    answer = pane().post("/outlook-contacts", json={"address": "not an address", "name": "X"})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_address"


# -- sync Outlook -> CRM ------------------------------------------------------------------


def test_sync_with_a_crm_id_updates_that_crm_contact(pane, emulator, crm):
    target = add_contact(crm, CONTOSO, "Old Name", "someone.else@example.org")
    created = new_outlook_contact(
        emulator,
        ADELE,
        givenName="Nina",
        surname="Park",
        displayName="Nina Park",
        emailAddresses=[{"address": "nina.park@example.org"}],
        jobTitle="CFO",
        mobilePhone="+1 555 0100",
        singleValueExtendedProperties=[{"id": props.CONTACT_ID, "value": str(target.id)}],
    )

    answer = pane().post(f"/outlook-contacts/{created['id']}/sync")

    assert answer.status_code == 200, answer.json
    assert answer.json["crm_contact_id"] == target.id and answer.json["created"] is False
    assert answer.json["crm_url"].endswith(f"/crm/contacts/{target.id}")
    contact = fresh(crm, Contact, target.id)
    assert (contact.first_name, contact.last_name, contact.job_title, contact.mobile_phone) == (
        "Nina",
        "Park",
        "CFO",
        "+1 555 0100",
    )
    assert "nina.park@example.org" in contact.addresses
    assert count(crm, Contact) == 1


def test_sync_without_a_crm_id_matches_by_address_then_writes_the_id_back(pane, emulator, crm):
    contacts = seed_contoso(crm, CONTOSO)
    lynne_outlook = contacts_with(emulator, ADELE, "lynne.robbins@northwind.example")[0]

    answer = pane().post(f"/outlook-contacts/{lynne_outlook['id']}/sync")

    assert answer.status_code == 200, answer.json
    assert answer.json["crm_contact_id"] in (contacts["lynne"].id, contacts["orders"].id)
    assert answer.json["created"] is False
    assert outlook_contact(emulator, ADELE, lynne_outlook["id"])["crm_contact_id"] == str(answer.json["crm_contact_id"])
    synced = fresh(crm, Contact, answer.json["crm_contact_id"])
    assert synced.business_phone == "+1 425 555 0109" and synced.job_title == "Purchasing Manager"


def test_sync_creates_the_crm_contact_and_company_when_nothing_matches(pane, emulator, crm):
    add_contact(crm, CONTOSO, "Someone", "someone@example.org", company="BÜCHER  S.R.O.")
    jan = contacts_with(emulator, ADELE, "jan@bücher.example")[0]

    answer = pane().post(f"/outlook-contacts/{jan['id']}/sync")

    assert answer.status_code == 200, answer.json
    assert answer.json["created"] is True
    contact = fresh(crm, Contact, answer.json["crm_contact_id"])
    assert (contact.first_name, contact.last_name, contact.job_title) == ("Jan", "Novák", "Owner")
    assert contact.addresses == ["jan@xn--bcher-kva.example"]
    assert contact.company.name == "BÜCHER S.R.O."  # matched ignoring case and spacing
    assert count(crm, Company) == 1
    assert outlook_contact(emulator, ADELE, jan["id"])["crm_contact_id"] == str(contact.id)

    again = pane().post(f"/outlook-contacts/{jan['id']}/sync")
    assert again.json["crm_contact_id"] == contact.id and again.json["created"] is False
    assert count(crm, Contact) == 2


def test_crm_url_syncs_first(pane, emulator, crm):
    created = pane().post("/outlook-contacts", json={"address": "eve@example.org", "name": "Eve Adams"}).json
    answer = pane().get(f"/outlook-contacts/{created['id']}/crm-url")
    assert answer.status_code == 200, answer.json
    contact = crm.scalar(select(Contact))
    assert answer.json["url"].endswith(f"/crm/contacts/{contact.id}")
    assert contact.name == "Eve Adams"


def test_deleted_outlook_contact_is_404(pane, emulator):
    created = pane().post("/outlook-contacts", json={"address": "gone@example.org", "name": "Gone"}).json
    emulator.graph("DELETE", f"/me/contacts/{created['id']}", emulator.graph_token(ADELE)).raise_for_status()
    answer = pane().post(f"/outlook-contacts/{created['id']}/sync")
    assert answer.status_code == 404
    assert answer.json["error"]["code"] == "outlook_contact_not_found"


# -- link and two-way sync ----------------------------------------------------------------


def linked_pair(pane, emulator, crm):
    target = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne@northwind.example", company="Northwind Traders")
    outlook = contacts_with(emulator, ADELE, "lynne.robbins@northwind.example")[0]
    answer = pane().post(f"/outlook-contacts/{outlook['id']}/link", json={"crm_contact_id": target.id})
    assert answer.status_code == 200, answer.json
    assert answer.json["crm_contact_id"] == target.id
    return answer.json["outlook_contact_id"], target.id


def test_link_merges_both_sides_and_stores_the_id(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    contact = fresh(crm, Contact, crm_id)
    assert contact.addresses == ["lynne.robbins@northwind.example", "lynne@northwind.example"] or set(
        contact.addresses
    ) == {"lynne.robbins@northwind.example", "lynne@northwind.example"}
    assert contact.job_title == "Purchasing Manager"  # an empty CRM field takes Outlook's value
    stored = outlook_contact(emulator, ADELE, outlook_id)
    assert stored["crm_contact_id"] == str(crm_id)
    assert {e["address"].lower() for e in stored["emailAddresses"]} == {
        "lynne.robbins@northwind.example",
        "lynne@northwind.example",
    }
    link = crm.scalar(select(OutlookContactLink))
    assert link.contact_id == crm_id and link.snapshot["fields"]["job_title"] == "Purchasing Manager"


def test_phone_edited_in_outlook_reaches_the_crm(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    edit_outlook_contact(emulator, ADELE, outlook_id, businessPhones=["+1 425 555 0199"])

    answer = pane().post(f"/outlook-contacts/{outlook_id}/sync")

    assert answer.status_code == 200 and answer.json["crm_contact_id"] == crm_id
    assert fresh(crm, Contact, crm_id).business_phone == "+1 425 555 0199"
    assert answer.json["updated_in_crm"] == ["business_phone"]


def test_title_edited_in_the_crm_reaches_outlook(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    crm_edit(crm, crm_id, job_title="Head of Purchasing")

    answer = pane().post(f"/outlook-contacts/{outlook_id}/sync")

    assert answer.status_code == 200
    assert outlook_contact(emulator, ADELE, outlook_id)["jobTitle"] == "Head of Purchasing"
    assert answer.json["updated_in_outlook"] == ["job_title"]


def outlook_time(contact: dict) -> datetime:
    return datetime.fromisoformat(contact["lastModifiedDateTime"].replace("Z", "+00:00"))


def test_conflict_goes_to_the_later_modification(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)

    # Both changed the title; the CRM's change is the later one: it wins.
    edited = edit_outlook_contact(emulator, ADELE, outlook_id, jobTitle="Buyer (Outlook)")
    crm_edit(crm, crm_id, job_title="Buyer (CRM)", updated_at=outlook_time(edited) + timedelta(seconds=5))
    answer = pane().post(f"/outlook-contacts/{outlook_id}/sync")
    assert answer.json["conflicts"] == ["job_title"]
    assert outlook_contact(emulator, ADELE, outlook_id)["jobTitle"] == "Buyer (CRM)"
    assert fresh(crm, Contact, crm_id).job_title == "Buyer (CRM)"

    # Outlook's change is the later one: Outlook's value wins.
    edited = edit_outlook_contact(emulator, ADELE, outlook_id, jobTitle="Director (Outlook)")
    crm_edit(crm, crm_id, job_title="Director (CRM)", updated_at=outlook_time(edited) - timedelta(seconds=5))
    answer = pane().post(f"/outlook-contacts/{outlook_id}/sync")
    assert answer.json["conflicts"] == ["job_title"]
    assert fresh(crm, Contact, crm_id).job_title == "Director (Outlook)"
    assert outlook_contact(emulator, ADELE, outlook_id)["jobTitle"] == "Director (Outlook)"


def test_a_field_emptied_on_one_side_is_emptied_only_if_the_other_kept_it(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)

    edit_outlook_contact(emulator, ADELE, outlook_id, mobilePhone="")
    pane().post(f"/outlook-contacts/{outlook_id}/sync")
    assert fresh(crm, Contact, crm_id).mobile_phone == ""  # the CRM had not changed it

    # Emptied in Outlook after the CRM changed it: the CRM's new value stays, even
    # though Outlook's change is the later one.
    edited = edit_outlook_contact(emulator, ADELE, outlook_id, jobTitle="")
    crm_edit(crm, crm_id, job_title="Chief Buyer", updated_at=outlook_time(edited) - timedelta(seconds=5))
    pane().post(f"/outlook-contacts/{outlook_id}/sync")
    assert fresh(crm, Contact, crm_id).job_title == "Chief Buyer"
    assert outlook_contact(emulator, ADELE, outlook_id)["jobTitle"] == "Chief Buyer"


def test_renamed_contacts_stay_linked(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    edit_outlook_contact(
        emulator,
        ADELE,
        outlook_id,
        givenName="Lyn",
        displayName="Lyn Robbins-Hart",
        surname="Robbins-Hart",
        emailAddresses=[{"address": "lyn@hart.example"}],
    )

    answer = pane().post(f"/outlook-contacts/{outlook_id}/sync")

    assert answer.json["crm_contact_id"] == crm_id
    contact = fresh(crm, Contact, crm_id)
    assert contact.name == "Lyn Robbins-Hart" and contact.addresses == ["lyn@hart.example"]
    assert count(crm, Contact) == 1


def test_company_change_links_an_existing_company_ignoring_case_and_spaces(pane, emulator, crm):
    add_contact(crm, CONTOSO, "Other", "other@tailspin.example", company="Tailspin Toys")
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    edit_outlook_contact(emulator, ADELE, outlook_id, companyName="  tailspin   TOYS ")
    pane().post(f"/outlook-contacts/{outlook_id}/sync")
    assert fresh(crm, Contact, crm_id).company.name == "Tailspin Toys"
    assert count(crm, Company) == 2


def test_sync_after_the_crm_contact_was_deleted_pairs_a_new_one(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    fresh(crm, Contact, crm_id).soft_delete()
    crm.commit()

    answer = pane().post(f"/outlook-contacts/{outlook_id}/sync")

    assert answer.status_code == 200, answer.json
    assert answer.json["created"] is True and answer.json["crm_contact_id"] != crm_id
    assert outlook_contact(emulator, ADELE, outlook_id)["crm_contact_id"] == str(answer.json["crm_contact_id"])
    crm.expire_all()
    assert [l.contact_id for l in crm.scalars(select(OutlookContactLink))] == [answer.json["crm_contact_id"]]


def test_link_to_an_unknown_crm_contact_is_404(pane, emulator):
    outlook = contacts_with(emulator, ADELE, "lynne.robbins@northwind.example")[0]
    answer = pane().post(f"/outlook-contacts/{outlook['id']}/link", json={"crm_contact_id": 999999})
    assert answer.status_code == 404 and answer.json["error"]["code"] == "crm_contact_not_found"


def test_refresh_on_pane_open_costs_no_graph_call_when_nothing_changed(app, pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    token = emulator.graph_token(ADELE)
    with app.app_context():
        graph = GraphClient.from_config(app.config, lambda: token, trusted_session())
        mailbox = open_mailbox(
            crm,
            tid=CONTOSO,
            oid=emulator.user(ADELE)["oid"],
            upn=ADELE,
            name="Adele Vance",
            config=app.config,
            graph=graph,
        )
        # The lookup the message view makes anyway when the pane opens a message.
        found = graph.find_contacts_many(
            ["lynne.robbins@northwind.example", "nobody@example.org"], select=OUTLOOK_CONTACT_FIELDS
        )
        emulator.clear_requests()
        results = refresh_found_contacts(mailbox, found)
        assert emulator.requests(path="/contacts") == []
        assert list(results) == [outlook_id]
        assert results[outlook_id].outlook_changes == [] and results[outlook_id].crm_changes == []

        crm_edit(crm, crm_id, mobile_phone="+1 425 555 0111")
        refresh_found_contacts(mailbox, found)
        assert [r["method"] for r in emulator.requests(path="/contacts")] == ["PATCH"]
    assert outlook_contact(emulator, ADELE, outlook_id)["mobilePhone"] == "+1 425 555 0111"


def test_refresh_route_syncs_only_linked_contacts(pane, emulator, crm):
    outlook_id, crm_id = linked_pair(pane, emulator, crm)
    unlinked = pane().post("/outlook-contacts", json={"address": "zed@example.org", "name": "Zed"}).json["id"]
    crm_edit(crm, crm_id, job_title="Category Manager")

    answer = pane().post("/outlook-contacts/refresh", json={"ids": [outlook_id, unlinked]})

    assert answer.status_code == 200, answer.json
    assert [(r["id"], r["ok"], r["result"]["updated_in_outlook"]) for r in answer.json["results"]] == [
        (outlook_id, True, ["job_title"])
    ]
    assert outlook_contact(emulator, ADELE, outlook_id)["jobTitle"] == "Category Manager"
    assert count(crm, Contact) == 1  # the unlinked contact was left alone
    assert pane().post("/outlook-contacts/refresh", json={"ids": []}).status_code == 400


def test_parallel_syncs_of_a_new_contact_create_one_crm_contact(pane, emulator, crm):
    created = pane().post("/outlook-contacts", json={"address": "pat.race@example.org", "name": "Race, Pat"}).json
    user = pane()
    answers = []

    def sync():
        answers.append(user.post(f"/outlook-contacts/{created['id']}/sync"))

    threads = [threading.Thread(target=sync) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 6, [a.json for a in answers]
    assert len({a.json["crm_contact_id"] for a in answers}) == 1
    assert sum(a.json["created"] for a in answers) == 1
    assert count(crm, Contact) == 1 and count(crm, OutlookContactLink) == 1


# -- search ------------------------------------------------------------------------------


def test_search_finds_by_prefix_of_name_email_or_company_ranked(pane, crm):
    seed_contoso(crm, CONTOSO)
    add_contact(crm, CONTOSO, "Northa Lin", "northa@example.org")
    user = pane()

    by_company = user.get("/crm/contacts/search", query_string={"q": "northw"}).json["contacts"]
    assert {c["name"] for c in by_company} == {"Lynne Robbins", "Orders Desk"}
    by_name = user.get("/crm/contacts/search", query_string={"q": "North"}).json["contacts"]
    assert by_name[0]["name"] == "Northa Lin"  # a name match ranks above a company match
    by_email = user.get("/crm/contacts/search", query_string={"q": "diego.sic"}).json["contacts"]
    assert [c["name"] for c in by_email] == ["Diego Siciliani"]
    assert by_email[0]["company"]["name"] == "Tailspin Toys"
    two_words = user.get("/crm/contacts/search", query_string={"q": "lynne rob"}).json["contacts"]
    assert [c["name"] for c in two_words] == ["Lynne Robbins"]
    assert user.get("/crm/contacts/search", query_string={"q": "%"}).json["contacts"] == []
    add_contact(crm, CONTOSO, "Šárka Šťastná", "sarka@example.cz")
    assert [c["name"] for c in user.get("/crm/contacts/search", query_string={"q": "šťast"}).json["contacts"]] == [
        "Šárka Šťastná"
    ]


def test_search_returns_at_most_twenty(pane, crm):
    for n in range(25):
        add_contact(crm, CONTOSO, f"Sam Person{n:02}", f"sam{n}@example.org")
    answer = pane().get("/crm/contacts/search", query_string={"q": "sam"})
    assert answer.status_code == 200 and len(answer.json["contacts"]) == 20
    assert pane().get("/crm/contacts/search", query_string={"q": "sam", "limit": 50}).status_code == 400


# -- CRM contact from a sender ------------------------------------------------------------


def test_create_crm_contact_only(pane, emulator, crm):
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    answer = pane().post(
        f"/messages/{message['id']}/contacts",
        json={"address": "lynne.robbins@northwind.example", "company": "Northwind Traders", "link_email": False},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["created"] is True and answer.json["message"] is None
    contact = fresh(crm, Contact, answer.json["crm_contact_id"])
    assert (contact.first_name, contact.last_name) == ("Lynne", "Robbins")  # prefilled from "Robbins, Lynne"
    assert contact.company.name == "Northwind Traders"
    assert count(crm, EmailLink) == 0

    again = pane().post(f"/messages/{message['id']}/contacts", json={"address": "Lynne.Robbins@northwind.example"})
    assert again.json["created"] is False and again.json["crm_contact_id"] == contact.id


def test_create_crm_contact_and_link_the_email(pane, emulator, crm):
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    user = pane()
    # Filed before the contact existed: linking must still add the new contact.
    assert user.post(f"/messages/{message['id']}/sync").status_code == 200

    answer = user.post(
        f"/messages/{message['id']}/contacts",
        json={
            "address": "lynne.robbins@northwind.example",
            "name": "Lynne Robbins",
            "company": "Northwind Traders",
            "link_email": True,
        },
    )

    assert answer.status_code == 200, answer.json
    email_id = answer.json["crm_email_id"]
    assert answer.json["message"]["state"] == "synced" and answer.json["message"]["crm_email_id"] == email_id
    links = {(l.target_type, l.target_id) for l in crm.scalars(select(EmailLink).where(EmailLink.email_id == email_id))}
    contact = fresh(crm, Contact, answer.json["crm_contact_id"])
    assert ("contact", contact.id) in links and ("company", contact.company_id) in links
