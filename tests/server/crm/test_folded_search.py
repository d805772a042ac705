"""Search ignores case and accents: one fold() for every search, stored as indexed keys
that every kind of write keeps in step, read by an index range on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from server.crm.companies import create_company, list_companies, update_company
from server.crm.contacts import create_contact, list_contacts, search_contacts, update_contact
from server.crm.folding import fold, fold_key
from server.crm.models import Company, Contact
from server.crm.prefix_search import prefix_of
from server.crm.tenants import get_or_create_tenant
from tests.support.identities import CONTOSO, FABRIKAM
from tests.support.import_files import write


@pytest.mark.parametrize(
    ("text_", "folded"),
    [
        ("Dvořák", "dvorak"),
        ("NOVÁK", "novak"),
        ("Svobodová", "svobodova"),
        ("Zieliński", "zielinski"),
        ("Łódź", "lodz"),
        ("ŁUKASZ", "lukasz"),
        ("Đorđević", "dordevic"),
        ("Søren Ørsted", "soren orsted"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Æbeltoft", "aebeltoft"),
        ("Cœur", "coeur"),
        ("Þórunn", "thorunn"),
        ("Jiří  Šťastný ", "jiri stastny"),
        ("ﬁala", "fiala"),  # a compatibility ligature
        ("Müller-Lüdenscheidt", "muller-ludenscheidt"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold_drops_case_and_accents_and_spells_out_letters_unicode_keeps_whole(text_, folded):
    assert fold(text_) == folded


def test_fold_key_fits_its_column_even_when_folding_lengthens():
    assert fold_key("ß" * 300, 256) == "s" * 256


@pytest.fixture
def people(db):
    get_or_create_tenant(db, CONTOSO)
    get_or_create_tenant(db, FABRIKAM)
    found = {
        "dvorak": create_contact(db, CONTOSO, {"first_name": "Antonín", "last_name": "Dvořák"}, tidy=True),
        "novak": create_contact(
            db, CONTOSO, {"first_name": "Jan", "last_name": "Novák", "emails": ["jan.novak@knihy-bücher.cz"]}, tidy=True
        ),
        "svobodova": create_contact(db, CONTOSO, {"first_name": "Eva", "last_name": "Svobodová"}, tidy=True),
        "zielinski": create_contact(
            db, CONTOSO, {"first_name": "Tomasz", "last_name": "Zieliński", "company": "Łódź Meble"}
        ),
        "other": create_contact(db, FABRIKAM, {"display_name": "Jan Novák"}),
    }
    db.commit()
    return found


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("dvorak", "dvorak"),
        ("DVORAK", "dvorak"),
        ("Dvořák", "dvorak"),
        ("antonin dv", "dvorak"),
        ("novak", "novak"),
        ("jan novak", "novak"),
        ("svobodova", "svobodova"),
        ("zielinski", "zielinski"),
        ("lodz", "zielinski"),  # by company
        ("jan.nov", "novak"),  # by address
        ("Jan.Novak@KNIHY-BÜCHER.cz", "novak"),  # a whole address, stored in IDNA form
    ],
)
def test_search_finds_accented_names_typed_without_accents(db, people, query, who):
    assert [c.id for c in search_contacts(db, CONTOSO, query)] == [people[who].id]
    assert [c.id for c in list_contacts(db, CONTOSO, q=query).rows] == [people[who].id]


def test_every_write_keeps_the_folded_keys_in_step(db, people):
    contact = update_contact(
        db, CONTOSO, people["svobodova"].id, {"last_name": "Nováková", "display_name": "Eva Nováková"}
    )
    assert (contact.last_name_fold, contact.display_name_fold) == ("novakova", "eva novakova")
    assert [c.id for c in search_contacts(db, CONTOSO, "novakova")] == [contact.id]
    assert search_contacts(db, CONTOSO, "svobodova") == []

    company = create_company(db, CONTOSO, {"name": "Škoda Auto"})
    assert company.name_fold == "skoda auto"
    update_company(db, CONTOSO, company.id, {"name": "Ørsted"})
    assert [c.id for c in list_companies(db, CONTOSO, q="orst").rows] == [company.id]
    # A company made on the way by a contact (insert .. on conflict, a Core insert).
    made = db.scalar(select(Company).where(Company.tenant_id == CONTOSO, Company.name == "Łódź Meble"))
    assert made.name_fold == "lodz meble"


def test_bulk_inserts_fill_the_folded_keys(db):
    get_or_create_tenant(db, CONTOSO)
    db.execute(
        Contact.__table__.insert(),
        [
            {"tenant_id": CONTOSO, "first_name": "Łukasz", "last_name": "Żółć", "display_name": "Łukasz Żółć"},
            {"tenant_id": CONTOSO, "first_name": "Đurđa", "last_name": "Ødegård", "display_name": "Đurđa Ødegård"},
        ],
    )
    db.commit()
    assert [c.display_name for c in search_contacts(db, CONTOSO, "lukasz zolc")] == ["Łukasz Żółć"]
    assert [c.display_name for c in search_contacts(db, CONTOSO, "odegard")] == ["Đurđa Ødegård"]


@pytest.fixture
def crowd(db, people):
    """Enough other names, with statistics, that each database's planner weighs its
    indexes as it would on a real CRM."""
    db.execute(
        Contact.__table__.insert(),
        [
            {"tenant_id": CONTOSO, "first_name": f"Name{i}", "last_name": f"Surname{i}", "display_name": f"Name{i} S"}
            for i in range(3000)
        ],
    )
    db.execute(
        Company.__table__.insert(),
        [{"tenant_id": CONTOSO, "name": f"Firm {i}", "name_key": f"firm {i}"} for i in range(3000)],
    )
    db.commit()
    db.execute(text("ANALYZE contacts"))
    db.execute(text("ANALYZE companies"))
    db.commit()
    yield
    if db.get_bind().dialect.name == "sqlite":
        # SQLite keeps statistics until dropped: later tests' plans must not see these.
        db.rollback()
        db.execute(text("DELETE FROM sqlite_stat1"))
        db.execute(text("ANALYZE sqlite_schema"))
        db.commit()


def _plan(db, statement) -> str:
    compiled = statement.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if db.get_bind().dialect.name == "sqlite":
        rows = db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return "\n".join(row[-1] for row in rows)
    return "\n".join(row[0] for row in db.execute(text(f"EXPLAIN {compiled}")).all())


@pytest.mark.parametrize(
    ("model", "column", "index"),
    [
        (Contact, "last_name_fold", "ix_contacts_tenant_last_name_fold"),
        (Contact, "first_name_fold", "ix_contacts_tenant_first_name_fold"),
        (Contact, "display_name_fold", "ix_contacts_tenant_display_name_fold"),
        (Company, "name_fold", "ix_companies_tenant_name_fold"),
    ],
)
def test_a_folded_prefix_is_an_index_range_scan(db, crowd, model, column, index):
    statement = select(model.id).where(model.tenant_id == CONTOSO, prefix_of(getattr(model, column), "dvo"))
    plan = _plan(db, statement)
    assert index in plan, plan
    assert "SCAN contacts" not in plan and "Seq Scan" not in plan, plan


def test_imported_contacts_and_companies_are_found_without_accents(importer, crm, tmp_path):
    path = write(
        tmp_path,
        "people.csv",
        "First Name,Last Name,E-mail Address,Company\n"
        "Łukasz,Wróblewski,lukasz@meble.example,Łódź Meble\n"
        "Zdeněk,Dvořák,zdenek@stavby.example,Stavby Dvořák\n",
    )
    assert importer(path).created == 2
    assert [c.display_name for c in search_contacts(crm, CONTOSO, "wroblewski")] == ["Łukasz Wróblewski"]
    assert [c.display_name for c in search_contacts(crm, CONTOSO, "zdenek dvorak")] == ["Zdeněk Dvořák"]
    assert [c.name for c in list_companies(crm, CONTOSO, q="lodz").rows] == ["Łódź Meble"]
