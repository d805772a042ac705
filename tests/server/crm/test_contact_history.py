"""Every change to a CRM contact is recorded: field, old and new value, source, who, when."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.crm.contact_changes import ChangedBy
from server.crm.contacts import apply_fields, create_contact, update_contact
from server.crm.models import ContactChange
from server.crm.tenants import get_or_create_tenant, get_or_create_user
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.import_files import write

HEADER = "first_name,last_name,email,company,job_title,phone\n"


def rows(crm, contact_id: int) -> list[tuple]:
    crm.expire_all()
    changes = crm.scalars(
        select(ContactChange).where(ContactChange.contact_id == contact_id).order_by(ContactChange.id)
    )
    return [(c.field, c.old_value, c.new_value, c.source, c.user_id, c.actor) for c in changes]


def test_apply_fields_records_each_changed_field_and_nothing_unchanged(crm, clean_state):
    user = get_or_create_user(crm, CONTOSO, ADELE_OID, ADELE, "Adele Vance")
    contact = create_contact(crm, CONTOSO, {"first_name": "Jan", "last_name": "Novák", "emails": ["jan@stavby.cz"]})
    crm.commit()
    by = ChangedBy.user("outlook", user)

    apply_fields(
        crm,
        contact,
        {
            "first_name": "Jan",
            "job_title": "Jednatel",
            "company": "Stavby Morava",
            "emails": ["jan@stavby.cz", "j@b.cz"],
        },
        by,
    )
    crm.commit()

    assert rows(crm, contact.id) == [
        ("job_title", None, "Jednatel", "outlook", user.id, "Adele Vance"),
        ("company", None, "Stavby Morava", "outlook", user.id, "Adele Vance"),
        ("emails", "jan@stavby.cz", "jan@stavby.cz, j@b.cz", "outlook", user.id, "Adele Vance"),
    ]

    apply_fields(crm, contact, {"job_title": "", "company": "  stavby   MORAVA "}, by)
    crm.commit()
    assert rows(crm, contact.id)[-1] == ("job_title", "Jednatel", None, "outlook", user.id, "Adele Vance")
    assert len(rows(crm, contact.id)) == 4  # the same company in other spelling is no change


def test_without_a_changed_by_nothing_is_recorded(crm, clean_state):
    get_or_create_tenant(crm, CONTOSO)
    contact = create_contact(crm, CONTOSO, {"display_name": "Quiet"})
    apply_fields(crm, contact, {"job_title": "Buyer"})
    update_contact(crm, CONTOSO, contact.id, {"job_title": "Seller"})
    assert rows(crm, contact.id) == []


def test_an_unknown_source_is_refused():
    with pytest.raises(ValueError):
        ChangedBy("telepathy")


def test_an_import_that_updates_a_contact_records_its_changes(importer, crm, tmp_path):
    importer(write(tmp_path, "first.csv", HEADER + "Lynne,Robbins,lynne@northwind.example,Northwind,,+1 111\n"))
    contact_id = crm.scalar(select(ContactChange.contact_id).limit(1))
    assert contact_id is None  # a created contact is the import's own record, not a change

    importer(
        write(tmp_path, "second.csv", HEADER + "Lynne,Robbins,lynne@northwind.example,Tailspin,CEO,+1 222\n"),
        changed_by=ChangedBy("import", None, "Adele Vance"),
    )

    changes = crm.scalars(select(ContactChange).order_by(ContactChange.id)).all()
    assert [(c.field, c.old_value, c.new_value, c.source, c.actor) for c in changes] == [
        ("job_title", None, "CEO", "import", "Adele Vance"),
        ("company", "Northwind", "Tailspin", "import", "Adele Vance"),
        ("business_phone", "+1 111", "+1 222", "import", "Adele Vance"),
    ]
    assert {c.tenant_id for c in changes} == {CONTOSO}

    importer(write(tmp_path, "third.csv", HEADER + "Lynne,Robbins,lynne@northwind.example,Tailspin,CEO,+1 222\n"))
    assert len(crm.scalars(select(ContactChange)).all()) == 3  # nothing changed, nothing recorded
