"""Matching message addresses to CRM contacts: one indexed query, tenant-scoped."""

import pytest
from sqlalchemy import event

from server.crm.matching import match_addresses
from server.crm.models import Company, Contact
from server.crm.tenants import get_or_create_tenant
from tests.support.identities import CONTOSO, FABRIKAM


@pytest.fixture
def people(db):
    get_or_create_tenant(db, CONTOSO)
    get_or_create_tenant(db, FABRIKAM)
    acme = Company(tenant_id=CONTOSO, name="Acme")
    alice = Contact(tenant_id=CONTOSO, display_name="Alice Archer", company=acme)
    alice.add_address("alice@acme.example")
    bob = Contact(tenant_id=CONTOSO, display_name="Bob Baker")
    bob.add_address("sales@acme.example")
    carol = Contact(tenant_id=CONTOSO, display_name="Carol Cook", company=acme)
    carol.add_address("Sales@ACME.example")
    jurgen = Contact(tenant_id=CONTOSO, display_name="Jürgen")
    jurgen.add_address("jurgen@bücher.de")
    nameless = Contact(tenant_id=CONTOSO)
    nameless.add_address("first@nameless.example")
    nameless.add_address("second@nameless.example")
    surname = Contact(tenant_id=CONTOSO, last_name="Only")
    surname.add_address("only@acme.example")
    gone = Contact(tenant_id=CONTOSO, display_name="Gone")
    gone.add_address("gone@acme.example")
    gone.soft_delete()
    elsewhere = Contact(tenant_id=FABRIKAM, display_name="Alice at Fabrikam")
    elsewhere.add_address("alice@acme.example")
    db.add_all([alice, bob, carol, jurgen, nameless, surname, gone, elsewhere])
    db.commit()
    return {"alice": alice, "bob": bob, "carol": carol, "jurgen": jurgen, "nameless": nameless, "acme": acme}


def count_queries(db):
    statements: list[str] = []
    engine = db.get_bind()

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return statements, lambda: event.remove(engine, "before_cursor_execute", before)


def test_every_contact_with_a_shared_address_matches(db, people):
    found = match_addresses(db, CONTOSO, ["sales@acme.example"])
    assert [c.display_name for c in found["sales@acme.example"]] == ["Bob Baker", "Carol Cook"]


def test_raw_forms_case_and_idna_are_normalised_before_matching(db, people):
    found = match_addresses(
        db, CONTOSO, ['"Archer, Alice" <ALICE@Acme.Example>', "JURGEN@xn--bcher-kva.de", "nobody@acme.example"]
    )
    assert [c.id for c in found["alice@acme.example"]] == [people["alice"].id]
    assert [c.id for c in found["jurgen@xn--bcher-kva.de"]] == [people["jurgen"].id]
    assert found["nobody@acme.example"] == []


def test_malformed_addresses_are_dropped(db, people):
    assert match_addresses(db, CONTOSO, ["not-an-address", None, ""]) == {}


def test_soft_deleted_contacts_never_match(db, people):
    assert match_addresses(db, CONTOSO, ["gone@acme.example"]) == {"gone@acme.example": []}


def test_matching_never_crosses_tenants(db, people):
    contoso = match_addresses(db, CONTOSO, ["alice@acme.example"])["alice@acme.example"]
    fabrikam = match_addresses(db, FABRIKAM, ["alice@acme.example"])["alice@acme.example"]
    assert [c.display_name for c in contoso] == ["Alice Archer"]
    assert [c.display_name for c in fabrikam] == ["Alice at Fabrikam"]


def test_all_addresses_of_a_message_cost_one_query_with_companies_loaded(db, people):
    db.expunge_all()  # nothing cached in the identity map
    statements, stop = count_queries(db)
    try:
        found = match_addresses(
            db, CONTOSO, ["alice@acme.example", "sales@acme.example", "jurgen@xn--bcher-kva.de", "x@y.example"]
        )
        companies = {c.display_name: (c.company.name if c.company else None) for cs in found.values() for c in cs}
    finally:
        stop()
    assert len(statements) == 1
    assert companies == {"Alice Archer": "Acme", "Bob Baker": None, "Carol Cook": "Acme", "Jürgen": None}


def test_contacts_are_named_as_the_model_names_them(db, people):
    db.expunge_all()
    statements, stop = count_queries(db)
    try:
        found = match_addresses(db, CONTOSO, ["second@nameless.example", "only@acme.example", "alice@acme.example"])
    finally:
        stop()
    assert len(statements) == 1
    names = {a: [c.name for c in cs] for a, cs in found.items()}
    assert names == {
        "second@nameless.example": ["first@nameless.example"],
        "only@acme.example": ["Only"],
        "alice@acme.example": ["Alice Archer"],
    }
    assert names == {a: [db.get(Contact, c.id).name for c in cs] for a, cs in found.items()}


def test_a_contact_matched_by_two_addresses_is_one_object_with_its_company(db, people):
    found = match_addresses(
        db, CONTOSO, ["alice@acme.example", "sales@acme.example", "first@nameless.example", "second@nameless.example"]
    )
    assert found["first@nameless.example"][0] is found["second@nameless.example"][0]
    alice, carol = found["alice@acme.example"][0], found["sales@acme.example"][1]
    assert (alice.company.id, alice.company.name) == (people["acme"].id, "Acme")
    assert alice.company is carol.company and carol.company_id == people["acme"].id
    assert found["sales@acme.example"][0].company is None


def test_address_lookup_uses_the_address_index(db, people):
    engine = db.get_bind()
    if engine.dialect.name != "sqlite":
        pytest.skip("plan check written for SQLite's EXPLAIN QUERY PLAN")
    plan = (
        db.connection()
        .exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT contact_id FROM contact_emails WHERE tenant_id = ? AND address IN (?, ?)",
            (CONTOSO, "a@b.c", "d@e.f"),
        )
        .all()
    )
    assert any("ix_contact_emails_tenant_address" in str(row) for row in plan)


def test_a_company_of_another_tenant_never_comes_with_a_match(db, people):
    """A contact whose company id names another tenant's company (a row no page or API
    writes, but the database cannot rule out) matches without that company: filing links
    matched companies without looking them up again, and the pane shows their names."""
    foreign = Company(tenant_id=FABRIKAM, name="Fabrikam's secret client")
    db.add(foreign)
    db.flush()
    people["bob"].company_id = foreign.id
    db.commit()
    (bob,) = match_addresses(db, CONTOSO, ["sales@acme.example"])["sales@acme.example"][:1]
    assert bob.display_name == "Bob Baker" and bob.company is None and bob.tenant_id == CONTOSO
    (alice,) = match_addresses(db, CONTOSO, ["alice@acme.example"])["alice@acme.example"]
    assert alice.company is not None and alice.company.id == people["acme"].id
