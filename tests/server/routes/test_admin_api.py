"""Who administers CRM Sync through the API: the pane's token says so (the app role
Crm.Admin in `roles`, the Global Administrator role in `wids`), never the database.
Every admin endpoint answers 403 `admin_required` to anyone else, and an admin's
restriction of one user only narrows what that user's mailbox files."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import User
from tests.support.identities import ADELE, CONTOSO, MEGAN, PAT, add_person

NESTOR = "nestor.wilke@contoso.com"


def user_id(crm, upn: str) -> int:
    crm.expire_all()
    return crm.scalar(select(User.id).where(User.upn == upn))


def admin_endpoints(app) -> list[tuple[str, str]]:
    """(method, rule) of every API endpoint that only admins may call."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/") and getattr(view, "admin_only", False):
            found += [(m, rule.rule) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_admin_endpoint_answers_403_to_a_user_without_the_role(app, pane, crm):
    megan = pane(MEGAN)  # the tenant's first user, with no role in Entra
    assert megan.get("/settings/me").json["is_admin"] is False
    adele = pane(ADELE)
    assert adele.get("/settings/me").json["is_admin"] is True
    endpoints = admin_endpoints(app)
    assert ("PUT", "/api/v1/settings/users/<int:user_id>") in endpoints
    target = user_id(crm, ADELE)
    for method, rule in endpoints:
        path = rule.replace("<int:user_id>", str(target)).removeprefix("/api/v1")
        response = megan.client.open(f"/api/v1{path}", method=method, headers=megan.headers(), json={})
        assert response.status_code == 403, (method, rule, response.json)
        assert response.json["error"]["code"] == "admin_required"
        assert "Crm.Admin" in response.json["error"]["message"]


def test_a_global_administrator_is_admin_and_a_user_without_roles_is_not(pane, emulator):
    add_person(emulator, NESTOR, global_admin=True)
    assert pane(NESTOR).get("/settings/me").json["is_admin"] is True
    assert pane(PAT).get("/settings/me").json["is_admin"] is True  # Fabrikam's Global Administrator
    emulator.set_roles(ADELE, app_roles=[])
    assert pane(ADELE).get("/settings/me").json["is_admin"] is False  # Entra took the role away


def test_an_admin_restriction_narrows_a_users_filing_and_never_widens_it(pane, crm):
    adele, megan = pane(ADELE), pane(MEGAN)
    megan.get("/settings/me")  # Megan's CRM user exists; the tenant's default is off
    megans_id = user_id(crm, MEGAN)

    widest = adele.put(f"/settings/users/{megans_id}", json={"auto_sync": "known_contacts"})
    assert widest.status_code == 200, widest.json
    assert widest.json["auto_sync"] == "off"  # the override turned nothing on
    assert megan.get("/settings/me").json["auto_sync"] == "off"
    refused = adele.put(f"/settings/users/{megans_id}", json={"auto_link_companies": True})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid_settings"

    mine = megan.put("/settings/me", json={"auto_sync": "known_contacts"}).json  # her own choice
    assert mine["auto_sync"] == "known_contacts"
    narrowed = adele.put(f"/settings/users/{megans_id}", json={"auto_sync": "marked", "never_sync": ["family.example"]})
    assert narrowed.json == {
        "user_id": megans_id,
        "upn": MEGAN,
        "auto_sync": "marked",
        "chosen_auto_sync": "known_contacts",
        "restrictions": {"auto_sync": "marked", "auto_link_companies": None, "never_sync": ["family.example"]},
    }
    seen = megan.get("/settings/me").json
    assert seen["auto_sync"] == "marked" and seen["restrictions"]["auto_sync"] == "marked"
    assert seen["never_sync"] == []  # her own list; the admin's entries are listed as restrictions
    off = adele.put(f"/settings/users/{megans_id}", json={"auto_sync": "off", "auto_link_companies": False})
    assert off.json["auto_sync"] == "off"
    assert megan.get("/settings/me").json["auto_link_companies"] is False

    lifted = adele.put(f"/settings/users/{megans_id}", json={"auto_sync": None, "auto_link_companies": None})
    assert lifted.json["auto_sync"] == "known_contacts"  # back to her own choice, not the admin's


def test_an_admin_restricts_only_the_users_of_their_own_tenant(pane, crm):
    pane(MEGAN).get("/settings/me")
    response = pane(PAT).put(f"/settings/users/{user_id(crm, MEGAN)}", json={"auto_sync": "off"})
    assert response.status_code == 404
    crm.expire_all()
    megan = crm.scalar(select(User).where(User.tenant_id == CONTOSO, User.upn == MEGAN))
    assert megan.restrictions == {}
