"""Outlook contacts on the emulated Graph: create, find by address, get, update, delete."""

import time

from tests.support.emulated_graph import IMMUTABLE, PROPERTY_SET, assert_graph_error

CONTACT_ID = f"String {PROPERTY_SET} Name CrmContactId"


def by_address(graph, address):
    r = graph.get("/me/contacts", params={"$filter": f"emailAddresses/any(a:a/address eq '{address}')"})
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_create_answers_the_full_contact(adele):
    r = adele.post(
        "/me/contacts",
        json={
            "givenName": "Isaiah",
            "surname": "Langer",
            "emailAddresses": [{"address": "Isaiah.Langer@tailspin.example", "name": "Isaiah Langer"}],
            "businessPhones": ["+1 555 0100"],
            "companyName": "Tailspin Toys",
        },
    )
    assert r.status_code == 201, r.text
    contact = r.json()
    assert contact["displayName"] == "Isaiah Langer"
    assert contact["emailAddresses"] == [{"name": "Isaiah Langer", "address": "Isaiah.Langer@tailspin.example"}]
    assert contact["id"].startswith("AAMkA") and contact["changeKey"]
    assert contact["@odata.etag"] == f'W/"{contact["changeKey"]}"'
    assert adele.get(f"/me/contacts/{contact['id']}").json()["companyName"] == "Tailspin Toys"


def test_find_by_address_ignores_case(adele):
    assert [c["displayName"] for c in by_address(adele, "lynne.robbins@northwind.example")] == ["Lynne Robbins"]
    assert [c["displayName"] for c in by_address(adele, "LYNNE.ROBBINS@NORTHWIND.EXAMPLE")] == ["Lynne Robbins"]
    assert by_address(adele, "nobody@northwind.example") == []
    assert [c["displayName"] for c in by_address(adele, "jan@bücher.example")] == ["Jan Novák"]


def test_contacts_belong_to_one_mailbox(adele, megan):
    assert by_address(megan, "lynne.robbins@northwind.example") == []
    lynne = by_address(adele, "lynne.robbins@northwind.example")[0]
    assert_graph_error(megan.get(f"/me/contacts/{lynne['id']}"), 404, "ErrorItemNotFound")


def test_patch_updates_fields_and_extended_properties_and_bumps_change_key(adele):
    lynne = by_address(adele, "lynne.robbins@northwind.example")[0]
    time.sleep(1.1)  # lastModifiedDateTime has second precision
    r = adele.patch(
        f"/me/contacts/{lynne['id']}",
        json={
            "jobTitle": "Head of Purchasing",
            "singleValueExtendedProperties": [{"id": CONTACT_ID, "value": "crm-17"}],
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["jobTitle"] == "Head of Purchasing"
    assert updated["changeKey"] != lynne["changeKey"]
    assert updated["lastModifiedDateTime"] > lynne["lastModifiedDateTime"]
    got = adele.get(
        f"/me/contacts/{lynne['id']}",
        params={"$select": "displayName", "$expand": f"singleValueExtendedProperties($filter=id eq '{CONTACT_ID}')"},
    ).json()
    assert got["singleValueExtendedProperties"] == [{"id": CONTACT_ID, "value": "crm-17"}]
    assert set(got) == {"@odata.context", "@odata.etag", "id", "displayName", "singleValueExtendedProperties"}
    found = adele.get(
        "/me/contacts",
        params={"$filter": f"singleValueExtendedProperties/any(ep: ep/id eq '{CONTACT_ID}' and ep/value eq 'crm-17')"},
    )
    assert [c["id"] for c in found.json()["value"]] == [lynne["id"]]


def test_delete_removes_the_contact(adele):
    jan = by_address(adele, "jan@bücher.example")[0]
    assert adele.delete(f"/me/contacts/{jan['id']}").status_code == 204
    assert_graph_error(adele.get(f"/me/contacts/{jan['id']}"), 404, "ErrorItemNotFound")
    assert by_address(adele, "jan@bücher.example") == []


def test_bad_bodies_and_ids_are_400(adele):
    assert_graph_error(adele.post("/me/contacts", json={"favouriteColour": "blue"}), 400, "RequestBodyRead")
    assert_graph_error(adele.post("/me/contacts", json={"emailAddresses": "a@b.c"}), 400)
    assert_graph_error(adele.post("/me/contacts", data=b"[1,2]", headers={"Content-Type": "application/json"}), 400)
    assert_graph_error(adele.get("/me/contacts/xyz"), 400, "ErrorInvalidIdMalformed")
    assert_graph_error(adele.get("/me/contacts", params={"$filter": "emailAddresses/any(a:a/address eq )"}), 400)


def test_immutable_ids_for_contacts(adele):
    created = adele.post(
        "/me/contacts",
        headers=IMMUTABLE,
        json={"givenName": "Zofia", "emailAddresses": [{"address": "zofia@łódź.example"}]},
    ).json()
    assert created["id"].startswith("AAkAL")
    assert created["emailAddresses"] == [{"name": "zofia@łódź.example", "address": "zofia@łódź.example"}]
    rest = adele.get(f"/me/contacts/{created['id']}").json()
    assert rest["id"].startswith("AAMkA")
    assert adele.get(f"/me/contacts/{rest['id']}", headers=IMMUTABLE).json()["id"] == created["id"]


def test_contacts_list_pages_and_selects(adele):
    for i in range(12):
        adele.post(
            "/me/contacts", json={"givenName": f"Bulk{i:02d}", "emailAddresses": [{"address": f"bulk{i}@x.example"}]}
        )
    everything = adele.all_pages("/me/contacts", params={"$select": "displayName,emailAddresses"})
    assert len(everything) == 14
    assert all(set(c) == {"@odata.etag", "id", "displayName", "emailAddresses"} for c in everything)


def test_app_only_contacts_on_users_path(contoso_app):
    r = contoso_app.get("~/contacts", params={"$filter": "emailAddresses/any(a:a/address eq 'jan@bücher.example')"})
    assert r.status_code == 200 and len(r.json()["value"]) == 1
