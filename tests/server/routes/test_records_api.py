"""The records API /api/v1/crm/...: CRUD, keyset pages, ranked prefix search,
soft delete, app-only tokens, the error shape, the OpenAPI, tenant isolation."""

from __future__ import annotations

import re

import idna
import pytest
from sqlalchemy import select

from server.crm.filing import file_email
from server.crm.matching import match_addresses
from server.crm.models import Email, EmailLink
from server.crm.tenants import get_or_create_user
from server.web.page_queries import linked_records
from tests.support.app_tokens import app_only_token
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, MEGAN, PAT

CONTACTS = "/crm/contacts"
COMPANIES = "/crm/companies"


def create(pane_, path, **body):
    response = pane_.post(path, json=body)
    assert response.status_code == 201, response.json
    return response.json


def every_page(pane_, path, **params):
    items, pages, after = [], 0, None
    while True:
        query = dict(params, **({"after": after} if after else {}))
        response = pane_.get(path, query_string=query)
        assert response.status_code == 200, response.json
        items += response.json["items"]
        pages += 1
        after = response.json["next"]
        if after is None:
            return items, pages


def test_contact_create_get_update_delete(pane):
    adele = pane(ADELE)
    created = create(
        adele,
        CONTACTS,
        first_name="Pavel",
        last_name="Dvořák",
        emails=["Pavel.Dvorak@Stavby-Morava.cz", "pavel@bücher.de"],
        company="Stavby Morava a.s.",
        job_title="Jednatel",
        business_phone="+420 1",
    )
    assert created["name"] == created["display_name"] == "Pavel Dvořák"
    assert created["emails"] == ["pavel.dvorak@stavby-morava.cz", "pavel@xn--bcher-kva.de"]
    assert created["company"]["name"] == "Stavby Morava a.s."
    url = f"{CONTACTS}/{created['id']}"

    assert adele.get(url).json == created
    patched = adele.client.patch(
        f"/api/v1{url}",
        headers=adele.headers(),
        json={
            "mobile_phone": "+420 777",
            "company": "  STAVBY morava a.s. ",
            "emails": ["pavel.dvorak@stavby-morava.cz"],
        },
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["mobile_phone"] == "+420 777" and patched.json["business_phone"] == "+420 1"
    assert patched.json["company"]["id"] == created["company"]["id"]
    assert patched.json["emails"] == ["pavel.dvorak@stavby-morava.cz"]
    unlinked = adele.client.patch(f"/api/v1{url}", headers=adele.headers(), json={"company": None})
    assert unlinked.status_code == 200 and unlinked.json["company"] is None

    assert pane(MEGAN).delete(url).status_code == 204  # one tenant, one CRM
    assert adele.get(url).status_code == 404
    assert adele.delete(url).status_code == 404
    assert adele.get(CONTACTS).json == {"items": [], "next": None}


def test_keyset_pages_visit_every_contact_once_in_name_order(pane):
    adele = pane(ADELE)
    names = [
        f"{first} {last}"
        for first in ("Anna", "Žofie", "Jiří", "Łukasz", "Ola")
        for last in ("Nowak", "Novák", "Zieliński", "Adams", "Brown")
    ]
    for name in names:
        create(adele, CONTACTS, display_name=name)
    create(adele, CONTACTS, display_name="Anna Nowak")  # a namesake: ties are broken by id

    items, pages = every_page(adele, CONTACTS, limit=7)

    assert pages == 4
    assert len(items) == len({i["id"] for i in items}) == 26
    # The database's collation decides the order; pages must follow it exactly.
    assert items == adele.get(CONTACTS, query_string={"limit": 200}).json["items"]
    names = [i["display_name"] for i in items]
    assert names.index("Anna Adams") < names.index("Anna Nowak") < names.index("Ola Adams")
    namesakes = [i["id"] for i in items if i["display_name"] == "Anna Nowak"]
    assert namesakes == sorted(namesakes)


def test_search_by_prefix_of_name_email_or_company_ranks_names_first(pane):
    adele = pane(ADELE)
    by_company = create(adele, CONTACTS, display_name="Alice Brown", company="Nowak Meble")
    by_email = create(adele, CONTACTS, display_name="Tomasz Zieliński", emails=["nowak.t@mebleportal.pl"])
    by_last = create(adele, CONTACTS, first_name="Agnieszka", last_name="Nowak")
    by_first = create(adele, CONTACTS, first_name="Nowak", last_name="Zed", display_name="Zed, Nowak")
    create(adele, CONTACTS, display_name="Janowak Someone", emails=["someone@nowak.example"])

    found = adele.get(CONTACTS, query_string={"q": "NOWAK"}).json["items"]

    assert [c["id"] for c in found] == [by_last["id"], by_first["id"], by_email["id"], by_company["id"]]
    assert [c["id"] for c in adele.get(CONTACTS, query_string={"q": "nowak.t@meb"}).json["items"]] == [by_email["id"]]
    idn = create(adele, CONTACTS, display_name="Jan Novák", emails=["jan@bücher.de"])
    for q in ("jan@bücher.de", "JAN@xn--bcher-kva.de", "jan@xn--b"):
        assert [c["id"] for c in adele.get(CONTACTS, query_string={"q": q}).json["items"]] == [idn["id"]], q
    paged, pages = every_page(adele, CONTACTS, q="nowak", limit=1)
    assert [c["id"] for c in paged] == [c["id"] for c in found] and pages == 4


def test_search_folds_case_of_accented_names_and_takes_wildcards_literally(pane):
    adele = pane(ADELE)
    jiri = create(adele, CONTACTS, first_name="Jiří", last_name="Šťastný")
    create(adele, CONTACTS, display_name="100% Organic Ltd contact")

    for q in ("šťa", "Šťastný", "ŠŤASTNÝ", "jiří š", "JIŘÍ"):
        assert [c["id"] for c in adele.get(CONTACTS, query_string={"q": q}).json["items"]] == [jiri["id"]], q
    assert adele.get(CONTACTS, query_string={"q": "%"}).json["items"] == []
    assert adele.get(CONTACTS, query_string={"q": "_"}).json["items"] == []
    assert len(adele.get(CONTACTS, query_string={"q": "100%"}).json["items"]) == 1


def test_companies_crud_search_and_delete_keeps_contacts(pane):
    adele = pane(ADELE)
    company = create(adele, COMPANIES, name="Mebleportal  Sp. z o.o.", domains=["MEBLEPORTAL.pl", "@łódź.pl"])
    assert company["name"] == "Mebleportal Sp. z o.o."
    assert company["domains"] == ["mebleportal.pl", idna.encode("łódź.pl", uts46=True).decode()]
    duplicate = adele.post(COMPANIES, json={"name": "mebleportal sp. z O.O."})
    assert duplicate.status_code == 409 and duplicate.json["error"]["code"] == "conflict"
    other = create(adele, COMPANIES, name="Drewnex S.A.")
    assert [c["id"] for c in adele.get(COMPANIES, query_string={"q": "meble"}).json["items"]] == [company["id"]]
    assert [c["id"] for c in adele.get(COMPANIES, query_string={"q": "drewnex"}).json["items"]] == [other["id"]]
    assert [c["id"] for c in adele.get(COMPANIES, query_string={"q": "mebleportal.p"}).json["items"]] == [company["id"]]
    renamed = adele.client.patch(
        f"/api/v1{COMPANIES}/{other['id']}", headers=adele.headers(), json={"name": "Mebleportal Sp. z o.o."}
    )
    assert renamed.status_code == 409
    contact = create(adele, CONTACTS, display_name="Tomasz", company_id=company["id"])

    assert adele.delete(f"{COMPANIES}/{company['id']}").status_code == 204

    assert adele.get(f"{COMPANIES}/{company['id']}").status_code == 404
    assert adele.get(f"{CONTACTS}/{contact['id']}").json["company"] is None


def test_a_deleted_contacts_emails_stay_filed_and_the_link_reads_deleted_contact(pane, crm):
    adele = pane(ADELE)
    contact = create(adele, CONTACTS, display_name="Lynne Robbins", emails=["lynne@northwind.example"])
    user = get_or_create_user(crm, CONTOSO, "0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71", ADELE)
    crm.commit()
    email, _, _ = file_email(
        crm,
        CONTOSO,
        user,
        {"internet_message_id": "<1@northwind.example>", "subject": "Order", "from_address": "lynne@northwind.example"},
        "AAMkAD1",
        "inbox",
        links=[("contact", contact["id"], "address")],
    )

    assert adele.delete(f"{CONTACTS}/{contact['id']}").status_code == 204

    crm.expire_all()
    assert crm.scalar(select(EmailLink.target_id).where(EmailLink.email_id == email.id)) == contact["id"]
    # The email page lists the link with the "deleted contact" tag (templates/crm/email.html).
    [linked] = linked_records(crm, CONTOSO, crm.get(Email, email.id))
    assert (linked.kind, linked.id, linked.label, linked.deleted) == ("contact", contact["id"], "Lynne Robbins", True)
    assert match_addresses(crm, CONTOSO, ["lynne@northwind.example"]) == {"lynne@northwind.example": []}
    assert adele.get(CONTACTS, query_string={"q": "lynne"}).json["items"] == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"emails": ["not an address"]}, "emails"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"company": "A", "company_id": 1}, "company"),
        ({"company_id": 987654}, "company_id"),
        ({}, "display_name"),
    ],
)
def test_invalid_contacts_get_400_in_the_one_error_shape(pane, body, field):
    response = pane(ADELE).post(CONTACTS, json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_request"
    assert field in response.json["error"]["details"]


@pytest.mark.parametrize(
    "query, code",
    [
        ({"after": "garbage!"}, "invalid_cursor"),
        ({"after": "WzEsMl0"}, "invalid_cursor"),  # valid base64 of [1,2]: not our shape
        ({"limit": 0}, "invalid_request"),
        ({"limit": 1000}, "invalid_request"),
    ],
)
def test_bad_list_parameters_get_400(pane, query, code):
    response = pane(ADELE).get(CONTACTS, query_string=query)
    assert response.status_code == 400 and response.json["error"]["code"] == code


def test_no_token_is_401_in_the_one_error_shape(client):
    for path in ("/api/v1/crm/contacts", "/api/v1/crm/companies/1"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "missing_token"


def test_app_only_token_with_the_crm_role_works_in_its_own_tenant(client, emulator, pane):
    adele_contact = create(pane(ADELE), CONTACTS, display_name="Contoso Person")
    headers = {"Authorization": f"Bearer {app_only_token(emulator, FABRIKAM)}"}

    created = client.post(
        "/api/v1/crm/contacts",
        headers=headers,
        json={"display_name": "Synced From ERP", "emails": ["erp@fabrikam-customer.example"]},
    )
    assert created.status_code == 201, created.json
    listed = client.get("/api/v1/crm/contacts", headers=headers).json["items"]
    assert [c["id"] for c in listed] == [created.json["id"]]
    assert client.get(f"/api/v1/crm/contacts/{adele_contact['id']}", headers=headers).status_code == 404
    assert [c["display_name"] for c in pane(PAT).get(CONTACTS).json["items"]] == ["Synced From ERP"]


def test_app_only_token_without_the_role_or_outside_the_crm_api_is_refused(client, emulator):
    no_role = {"Authorization": f"Bearer {app_only_token(emulator, CONTOSO, roles=['Other.Read.All'])}"}
    response = client.get("/api/v1/crm/contacts", headers=no_role)
    assert response.status_code == 401 and response.json["error"]["code"] == "insufficient_scope"
    with_role = {"Authorization": f"Bearer {app_only_token(emulator, CONTOSO)}"}
    assert client.get("/api/v1/messages/AAMkAGI2TG93AAA=", headers=with_role).status_code == 401
    wrong_audience = app_only_token(emulator, CONTOSO, aud="https://graph.microsoft.com")
    assert client.get("/api/v1/crm/contacts", headers={"Authorization": f"Bearer {wrong_audience}"}).status_code == 401


def test_the_emulator_mints_app_only_tokens_for_graph_only(emulator):
    # Why the tests above sign their own: the emulator's client-credentials grant
    # refuses our API's scope, so an integration's token is built with its key.
    response = emulator.session.post(
        f"{emulator.base_url}/{CONTOSO}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13",
            "client_secret": "local-emulator-only",
            "scope": "api://localhost:5000/6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13/.default",
        },
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_every_crm_route_is_in_the_openapi_with_bearer_auth(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/crm/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][path][method.lower()]
            assert operation["security"] == [{"bearerAuth": []}], (path, method)
            assert operation.get("summary"), (path, method)


# -- isolation -------------------------------------------------------------------------


def contoso_records(pane_):
    company = create(pane_, COMPANIES, name="Northwind Traders", domains=["northwind.example"])
    contact = create(
        pane_,
        CONTACTS,
        first_name="Lynne",
        last_name="Robbins",
        emails=["lynne@northwind.example"],
        company_id=company["id"],
    )
    return {"contact_id": contact["id"], "company_id": company["id"]}


def ids_in(answer) -> set[int]:
    """Every "id" anywhere in a JSON answer."""
    if isinstance(answer, dict):
        found = {answer["id"]} if isinstance(answer.get("id"), int) else set()
        return found.union(*(ids_in(v) for v in answer.values()))
    if isinstance(answer, list):
        return set().union(*(ids_in(v) for v in answer))
    return set()


def test_another_tenant_never_lists_gets_changes_or_deletes_contoso_records_on_any_route(app, pane):
    adele, pat = pane(ADELE), pane(PAT)
    ids = contoso_records(adele)
    before = (adele.get(f"{CONTACTS}/{ids['contact_id']}").json, adele.get(f"{COMPANIES}/{ids['company_id']}").json)
    bodies = {
        "contacts": {"display_name": "Pat's Lynne", "emails": ["lynne@northwind.example"]},
        "companies": {"name": "Northwind Traders", "domains": ["northwind.example"]},
    }
    checked = []

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1/crm/"):
            continue
        kind = rule.rule.split("/")[4]
        assert kind in bodies, f"new CRM route {rule.rule}: add it to this isolation test"
        path = rule.rule.removeprefix("/api/v1")
        path = re.sub(r"<(?:int:)?(\w+)>", lambda m: str(ids[m.group(1)]), path)
        assert "<" not in path, f"route {rule.rule} has a parameter this test does not know"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            checked.append((method, rule.rule))
            url = f"/api/v1{path}"
            if method == "GET" and rule.arguments:
                response = pat.client.get(url, headers=pat.headers())
                assert response.status_code == 404, (method, rule.rule, response.json)
                assert response.json["error"]["code"] == "not_found"
            elif method == "GET":
                for q in (None, "l", "lynne", "northwind", "lynne@north"):
                    response = pat.get(path, query_string={"q": q} if q else {})
                    if q is None and response.status_code == 400:
                        continue  # a search route that needs q
                    assert response.status_code == 200, (rule.rule, response.json)
                    assert not ids_in(response.json) & set(ids.values()), (rule.rule, q, response.json)
                    assert "Lynne Robbins" not in str(response.json)
            elif method in ("PATCH", "DELETE"):
                response = pat.client.open(
                    url, method=method, headers=pat.headers(), json=bodies[kind] if method == "PATCH" else None
                )
                assert response.status_code == 404, (method, rule.rule, response.json)
                assert response.json["error"]["code"] == "not_found"
            elif method == "POST":
                # Creating in one's own tenant: even the same name or address is a separate record.
                response = pat.client.post(url, headers=pat.headers(), json=bodies[kind])
                assert response.status_code == 201, (rule.rule, response.json)
                assert response.json["id"] not in ids.values()
            else:
                pytest.fail(f"{method} {rule.rule}: add it to this isolation test")

    assert {m for m, _ in checked} == {"GET", "POST", "PATCH", "DELETE"} and len(checked) >= 10
    after = (adele.get(f"{CONTACTS}/{ids['contact_id']}").json, adele.get(f"{COMPANIES}/{ids['company_id']}").json)
    assert after == before
    pats = pat.client.post(
        "/api/v1/crm/contacts", headers=pat.headers(), json={"display_name": "X", "company_id": ids["company_id"]}
    )
    assert pats.status_code == 400 and "company_id" in pats.json["error"]["details"]
