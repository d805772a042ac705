"""Who administers CRM Sync on the pages: Entra ID decides, through the id token of the
sign-in (the app role Crm.Admin in `roles`, the Global Administrator role in `wids`).
Being the tenant's first user, or anything else in the database, makes nobody admin;
every admin page and form answers 403 to everyone else."""

from __future__ import annotations

from sqlalchemy import func, select

from server.crm.models import Tenant, User
from tests.support.admin_forms import CSV, finished_job_page, job_id_of, upload
from tests.support.identities import ADELE, CONTOSO, MEGAN, add_person

NESTOR = "nestor.wilke@contoso.com"
LIDIA = "lidia.holloway@contoso.com"


def admin_requests(job_id: int, user_id: int) -> list[tuple[str, str, dict]]:
    """(method, path, form) of every admin page and form."""
    return [
        ("GET", "/crm/admin/import", {}),
        ("POST", "/crm/admin/import", {}),
        ("GET", "/crm/admin/jobs", {}),
        ("GET", f"/crm/admin/jobs/{job_id}", {}),
        ("GET", f"/crm/admin/jobs/{job_id}/progress", {}),
        ("POST", f"/crm/admin/jobs/{job_id}/retry", {}),
        ("POST", "/crm/admin/bulk-sync", {"folder": "inbox", "since": "2026-11-01"}),
        ("POST", "/crm/settings/tenant", {"auto_sync": "known_contacts", "never_sync": ""}),
        ("POST", f"/crm/settings/users/{user_id}", {"auto_sync": "inherit", "auto_link_companies": "inherit"}),
        ("POST", "/crm/settings/test-connection", {}),
    ]


def answers(person, method: str, path: str, form: dict, token: str) -> int:
    if method == "GET":
        return person.get(path).status_code
    return person.client.post(path, data={"csrf_token": token, **form}).status_code


def sees_admin_pages(person) -> bool:
    page = person.get("/crm/settings").get_data(as_text=True)
    return "Test connection" in page and person.get("/crm/admin/jobs").status_code == 200


def user_id(crm, upn: str) -> int:
    crm.expire_all()
    return crm.scalar(select(User.id).where(User.tenant_id == CONTOSO, User.upn == upn))


def test_the_first_user_without_the_role_is_not_admin(browser, crm):
    megan = browser(MEGAN)  # the tenant's first user, with no role in Entra
    adele = browser(ADELE)  # a later user, with the app role Crm.Admin
    assert user_id(crm, MEGAN) == crm.scalar(select(func.min(User.id)).where(User.tenant_id == CONTOSO))
    assert not sees_admin_pages(megan)
    assert sees_admin_pages(adele)


def test_every_admin_page_and_form_answers_403_to_a_user_without_the_role(browser, crm):
    megan = browser(MEGAN)  # first, so the old rule made her admin
    adele = browser(ADELE)
    job_id = job_id_of(upload(adele, CSV))
    finished_job_page(adele, job_id)
    token = megan.csrf_token("/crm/settings")
    for method, path, form in admin_requests(job_id, user_id(crm, ADELE)):
        assert answers(megan, method, path, form, token) == 403, (method, path)
    crm.expire_all()
    assert crm.get(Tenant, CONTOSO).effective_settings()["auto_sync"] == "off"  # nothing changed


def test_a_later_user_with_the_crm_admin_role_is_admin(browser, emulator):
    browser(ADELE)
    browser(MEGAN)
    add_person(emulator, NESTOR, crm_admin=True, display_name="Nestor Wilke")
    add_person(emulator, LIDIA, display_name="Lidia Holloway")
    assert sees_admin_pages(browser(NESTOR))
    assert not sees_admin_pages(browser(LIDIA))


def test_a_global_administrator_is_admin_without_the_app_role(browser, emulator):
    browser(MEGAN)
    add_person(emulator, NESTOR, global_admin=True, display_name="Nestor Wilke")
    nestor = browser(NESTOR)
    assert sees_admin_pages(nestor)
    saved = nestor.post_form("/crm/settings/tenant", {"auto_sync": "marked", "never_sync": ""}, "/crm/settings")
    assert saved.status_code == 303


def test_no_database_row_makes_anyone_admin(browser, crm, emulator):
    adele = browser(ADELE)
    assert sees_admin_pages(adele)
    # Entra takes the role away: her user row, the lowest of the tenant, keeps nothing.
    emulator.set_roles(ADELE, app_roles=[])
    adele_again = browser(ADELE)
    assert not sees_admin_pages(adele_again)
    # Nor does anything written into her row, her settings or her tenant's.
    crm.expire_all()
    row = crm.scalar(select(User).where(User.tenant_id == CONTOSO, User.upn == ADELE))
    row.settings = {**(row.settings or {}), "is_admin": True, "admin": True, "roles": ["Crm.Admin"]}
    crm.get(Tenant, CONTOSO).settings = {"admin": ADELE, "admins": [ADELE]}
    crm.commit()
    assert not sees_admin_pages(adele_again)
    assert not sees_admin_pages(browser(ADELE))
