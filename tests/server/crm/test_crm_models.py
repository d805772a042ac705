"""CRM models: tenant scoping, settings precedence, companies, contacts, races."""

import threading
from datetime import UTC

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.crm.models import (
    Company,
    Contact,
    ContactEmail,
    Tenant,
    User,
    company_name_key,
)
from server.crm.sanitise import preview_text, sanitise_html
from server.crm.tenants import get_or_create_tenant, get_or_create_user
from tests.support.identities import ADELE_OID, CONTOSO, FABRIKAM, MEGAN_OID


def test_get_or_create_user_creates_tenant_and_user_once(db):
    first = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    again = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    assert first.id == again.id
    assert db.scalar(select(func.count()).select_from(User)) == 1
    assert db.get(Tenant, CONTOSO) is not None
    assert first.own_addresses() == {"adele.vance@contoso.com"}


def test_get_or_create_user_updates_a_renamed_user(db):
    get_or_create_user(db, CONTOSO, ADELE_OID, "adele@contoso.com", "Adele")
    db.commit()
    user = get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    db.commit()
    assert (user.upn, user.display_name) == ("adele.vance@contoso.com", "Adele Vance")


def test_same_oid_in_two_tenants_is_two_users(db):
    a = get_or_create_user(db, CONTOSO, ADELE_OID, "a@contoso.com", "A")
    b = get_or_create_user(db, FABRIKAM, ADELE_OID, "a@fabrikam.com", "A")
    db.commit()
    assert a.id != b.id


def test_concurrent_first_requests_of_a_new_user_make_one_user(db, session_factory):
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def first_request():
        session = session_factory()
        try:
            barrier.wait()
            get_or_create_user(session, CONTOSO, MEGAN_OID, "megan.bowen@contoso.com", "Megan Bowen")
            session.commit()
        except BaseException as exc:  # collected: a thread's exception would be lost
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.scalar(select(func.count()).select_from(User)) == 1
    assert db.scalar(select(func.count()).select_from(Tenant)) == 1


def test_new_tenant_takes_the_deployment_default_for_auto_link_companies(db):
    tenant = get_or_create_tenant(db, CONTOSO, "Contoso", auto_link_companies=False)
    db.commit()
    assert tenant.effective_settings()["auto_link_companies"] is False
    # An existing tenant keeps what it has.
    tenant = get_or_create_tenant(db, CONTOSO, auto_link_companies=True)
    assert tenant.effective_settings()["auto_link_companies"] is False


def test_user_setting_wins_over_tenant_default_and_never_sync_lists_combine(db):
    user = get_or_create_user(db, CONTOSO, ADELE_OID, "adele@contoso.com", "Adele")
    tenant = user.tenant
    tenant.update_settings(auto_link_companies=True, auto_sync="known_contacts", never_sync=["hr.example"])
    assert user.effective_settings(tenant) == {
        "auto_link_companies": True,
        "auto_sync": "known_contacts",
        "never_sync": ["hr.example"],
        "create_unknown_senders": False,
        "store_attachments": True,
        "compose_default": "crm_recipients",
        "ask_on_send": False,
        "compose_limit": "always",
    }
    user.update_settings(auto_link_companies=False, never_sync=["mum@family.net"])
    db.commit()
    db.expire_all()
    effective = db.get(User, user.id).effective_settings()
    assert effective["auto_link_companies"] is False
    assert effective["auto_sync"] == "known_contacts"
    assert effective["never_sync"] == ["hr.example", "mum@family.net"]
    # Removing the override falls back to the tenant's value.
    user.update_settings(auto_link_companies=None)
    assert user.effective_settings()["auto_link_companies"] is True


def test_settings_reject_unknown_keys_and_bad_values(db):
    user = get_or_create_user(db, CONTOSO, ADELE_OID, "adele@contoso.com", "Adele")
    with pytest.raises(ValueError):
        user.update_settings(colour="red")
    with pytest.raises(ValueError):
        user.update_settings(auto_sync="always")
    with pytest.raises(ValueError):
        user.tenant.update_settings(auto_link_companies="yes")
    with pytest.raises(ValueError):
        user.update_settings(compose_default="sometimes")
    with pytest.raises(ValueError):
        user.update_settings(ask_on_send="yes")
    with pytest.raises(ValueError):
        user.update_settings(compose_limit="never")  # the organization's alone
    with pytest.raises(ValueError):
        user.tenant.update_settings(compose_limit="often")


def test_company_names_are_unique_per_tenant_ignoring_case_and_spaces(db):
    get_or_create_tenant(db, CONTOSO)
    get_or_create_tenant(db, FABRIKAM)
    db.add(Company(tenant_id=CONTOSO, name="Contoso  Ltd "))
    db.add(Company(tenant_id=FABRIKAM, name="contoso ltd"))  # another tenant: fine
    db.commit()
    assert company_name_key("  CONTOSO   ltd") == "contoso ltd"
    found = Company.by_name(db, CONTOSO, "contoso LTD")
    assert found is not None and found.name == "Contoso Ltd"
    db.add(Company(tenant_id=CONTOSO, name="CONTOSO LTD"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_contact_addresses_are_normalised_and_may_be_shared(db):
    get_or_create_tenant(db, CONTOSO)
    one = Contact(tenant_id=CONTOSO, first_name="Sam", last_name="One")
    two = Contact(tenant_id=CONTOSO, first_name="Sam", last_name="Two")
    one.add_address("Sam <Shared@Example.com>")
    one.add_address("shared@example.com")  # already there
    two.add_address("shared@EXAMPLE.com")
    db.add_all([one, two])
    db.commit()
    assert one.addresses == ["shared@example.com"]
    assert db.scalar(select(func.count()).select_from(ContactEmail)) == 2
    with pytest.raises(ValueError):
        one.add_address("not an address")


def test_set_addresses_keeps_order_and_drops_the_rest(db):
    get_or_create_tenant(db, CONTOSO)
    contact = Contact(tenant_id=CONTOSO, display_name="Sam")
    contact.set_addresses(["a@example.com", "b@example.com"])
    db.add(contact)
    db.commit()
    contact.set_addresses(["C@example.com", "a@example.com"])
    db.commit()
    db.expire_all()
    assert db.get(Contact, contact.id).addresses == ["c@example.com", "a@example.com"]


def test_contact_updated_at_moves_on_change_and_times_are_utc(db):
    get_or_create_tenant(db, CONTOSO)
    contact = Contact(tenant_id=CONTOSO, first_name="Sam")
    db.add(contact)
    db.commit()
    created, updated = contact.created_at, contact.updated_at
    assert created.tzinfo is not None and created.utcoffset() == UTC.utcoffset(None)
    contact.job_title = "Buyer"
    db.commit()
    db.expire_all()
    reloaded = db.get(Contact, contact.id)
    assert reloaded.created_at == created
    assert reloaded.updated_at > updated


def test_changing_addresses_counts_as_a_change_of_the_contact(db):
    get_or_create_tenant(db, CONTOSO)
    contact = Contact(tenant_id=CONTOSO, first_name="Sam")
    contact.add_address("sam@example.com")
    db.add(contact)
    db.commit()
    before = contact.updated_at
    contact.set_addresses(["sam@example.com"])  # no change
    assert contact.updated_at == before
    contact.add_address("sam.home@example.com")
    db.commit()
    assert contact.updated_at > before


def test_soft_deleted_contacts_are_hidden_from_get(db):
    get_or_create_tenant(db, CONTOSO)
    contact = Contact(tenant_id=CONTOSO, first_name="Gone")
    db.add(contact)
    db.commit()
    contact.soft_delete()
    db.commit()
    assert Contact.get(db, CONTOSO, contact.id) is None
    assert Contact.get(db, CONTOSO, contact.id, include_deleted=True) is contact


def test_get_never_crosses_tenants(db):
    get_or_create_tenant(db, CONTOSO)
    get_or_create_tenant(db, FABRIKAM)
    contact = Contact(tenant_id=CONTOSO, first_name="Sam")
    company = Company(tenant_id=CONTOSO, name="Contoso")
    db.add_all([contact, company])
    db.commit()
    assert Contact.get(db, CONTOSO, contact.id) is contact
    assert Contact.get(db, FABRIKAM, contact.id) is None
    assert Company.get(db, FABRIKAM, company.id) is None


def test_contact_name_falls_back_to_names_then_address(db):
    contact = Contact(tenant_id=CONTOSO, first_name="Sam", last_name="Lee")
    assert contact.name == "Sam Lee"
    contact.display_name = "Samuel Lee"
    assert contact.name == "Samuel Lee"
    bare = Contact(tenant_id=CONTOSO)
    bare.add_address("x@example.com")
    assert bare.name == "x@example.com"


def test_sanitised_html_is_inert_but_keeps_formatting():
    dirty = (
        '<p style="color:red;background:url(https://evil.example/x)" onclick="steal()">Hi'
        "<script>alert(1)</script><b>bold</b>"
        '<a href="javascript:alert(1)">js</a><a href="https://ok.example/">ok</a>'
        '<img src="https://tracker.example/pixel.gif" onerror="alert(1)">'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        '<iframe src="https://evil.example"></iframe><form action="/x"><input name=q></form></p>'
    )
    clean = sanitise_html(dirty)
    for bad in ("<script", "onclick", "onerror", "javascript:", "url(", "<iframe", "<form", "<input"):
        assert bad not in clean
    assert "<b>bold</b>" in clean
    assert 'style="color:red"' in clean
    assert 'href="https://ok.example/"' in clean
    # Remote images wait for "Show images"; inline data images show at once.
    assert 'data-src="https://tracker.example/pixel.gif"' in clean
    assert 'src="https://tracker.example' not in clean.replace("data-src", "")
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in clean


@pytest.mark.parametrize(
    "vector",
    [
        '<svg onload="alert(1)"><circle/></svg>',
        '<a href=" javascript:alert(1)">a</a>',
        '<a href="jav&#x09;ascript:alert(1)">b</a>',
        '<a href="vbscript:alert(1)">c</a>',
        '<object data="x"></object><embed src="x">',
        '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        '<p style="width:expression(alert(1))">d</p>',
        '<div style="background-image:url(https://tracker.example/z)">e</div>',
        '<table background="https://tracker.example/x.gif"><tr><td>f</td></tr></table>',
        '<img srcset="https://tracker.example/a 1x">',
    ],
)
def test_sanitiser_defuses_known_vectors(vector):
    clean = sanitise_html(vector).lower()
    for bad in (
        "alert",
        "javascript",
        "vbscript",
        "evil.example",
        "tracker.example",
        "<svg",
        "<object",
        "<embed",
        "<base",
        "<meta",
        "<link",
        "expression",
    ):
        assert bad not in clean, clean


def test_preview_is_plain_text():
    assert preview_text("<style>p{}</style><p>Hello &amp; <b>welcome</b></p>\n\n  back") == "Hello & welcome back"
    assert len(preview_text("word " * 200, limit=50)) == 50


def test_company_get_or_create_matches_case_and_space_insensitively(db):
    get_or_create_tenant(db, CONTOSO)
    first = Company.get_or_create(db, CONTOSO, " Acme   Corp")
    db.commit()
    again = Company.get_or_create(db, CONTOSO, "ACME corp")
    assert again.id == first.id and again.name == "Acme Corp"
    with pytest.raises(ValueError):
        Company.get_or_create(db, CONTOSO, "   ")


def test_concurrent_company_creation_makes_one_company(db, session_factory):
    get_or_create_tenant(db, CONTOSO)
    db.commit()
    barrier = threading.Barrier(6)
    ids: list[int] = []
    errors: list[BaseException] = []

    def create(n: int):
        session = session_factory()
        try:
            barrier.wait()
            company = Company.get_or_create(session, CONTOSO, "Northwind" if n % 2 else "NORTHWIND ")
            session.commit()
            ids.append(company.id)
        except BaseException as exc:  # collected: a thread's exception would be lost
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 1
