"""The admin settings page: who is admin, tenant defaults, per-user restrictions, and
"Test connection" reporting each check in plain words."""

from __future__ import annotations

import html as htmllib

from server.crm.models import Tenant, User
from tests.support.connection_checks import checks_of
from tests.support.identities import ADELE, CLIENT_ID, CONTOSO, MEGAN

ALL_SCOPES = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "offline_access"]
ALL_ROLES = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite"]


def test_the_crm_admin_role_makes_the_admin_and_others_read_only(browser, clean_state):
    adele = browser(ADELE)  # holds the app role Crm.Admin in the emulator's fixture
    megan = browser(MEGAN)  # holds no role
    assert "Test connection" in adele.get("/crm/settings").get_data(as_text=True)
    page = megan.get("/crm/settings").get_data(as_text=True)
    assert "Test connection" not in page
    # Who administers is named by the rule (Entra's role), no longer by a person.
    assert "Only the administrator" in page and "Crm.Admin" in page
    token = megan.csrf_token("/crm/settings")
    for path in ("/crm/settings/tenant", "/crm/settings/test-connection"):
        assert megan.client.post(path, data={"csrf_token": token, "auto_sync": "off"}).status_code == 403


def test_admin_saves_tenant_defaults(browser, crm):
    adele = browser(ADELE)
    response = adele.post_form(
        "/crm/settings/tenant",
        {"auto_sync": "known_contacts", "never_sync": "Private@Contoso.com\n@bank.example, hr.contoso.com"},
        token_from="/crm/settings",
    )
    assert response.status_code == 303
    settings = crm.get(Tenant, CONTOSO).effective_settings()
    assert settings["auto_sync"] == "known_contacts"
    assert settings["auto_link_companies"] is False  # unchecked box
    assert settings["never_sync"] == ["private@contoso.com", "bank.example", "hr.contoso.com"]
    page = adele.get("/crm/settings").get_data(as_text=True)
    assert "Saved the organization" in page and "bank.example" in page


def test_admin_switches_on_crm_contacts_for_unknown_senders_and_off_again(browser, crm):
    adele = browser(ADELE)
    page = adele.get("/crm/settings").get_data(as_text=True)
    assert 'name="create_unknown_senders"' in page and "Create CRM contacts for unknown external senders" in page
    form = {"auto_sync": "off", "never_sync": "", "create_unknown_senders": "on"}
    assert adele.post_form("/crm/settings/tenant", form, token_from="/crm/settings").status_code == 303
    crm.expire_all()
    assert crm.get(Tenant, CONTOSO).effective_settings()["create_unknown_senders"] is True
    assert 'name="create_unknown_senders" value="on" checked' in adele.get("/crm/settings").get_data(as_text=True)
    form.pop("create_unknown_senders")  # an unchecked box is not sent
    assert adele.post_form("/crm/settings/tenant", form, token_from="/crm/settings").status_code == 303
    crm.expire_all()
    assert crm.get(Tenant, CONTOSO).effective_settings()["create_unknown_senders"] is False


def test_admin_turns_attachment_storage_off_and_on_again(browser, crm):
    adele = browser(ADELE)
    page = adele.get("/crm/settings").get_data(as_text=True)
    assert 'name="store_attachments" value="on" checked' in page  # on by default
    form = {"auto_sync": "off", "never_sync": ""}  # an unchecked box is not sent
    assert adele.post_form("/crm/settings/tenant", form, token_from="/crm/settings").status_code == 303
    crm.expire_all()
    assert crm.get(Tenant, CONTOSO).effective_settings()["store_attachments"] is False
    assert 'name="store_attachments" value="on">' in adele.get("/crm/settings").get_data(as_text=True)
    form["store_attachments"] = "on"
    assert adele.post_form("/crm/settings/tenant", form, token_from="/crm/settings").status_code == 303
    crm.expire_all()
    assert crm.get(Tenant, CONTOSO).effective_settings()["store_attachments"] is True


def test_invalid_never_sync_entries_are_explained_and_nothing_saved(browser, crm):
    adele = browser(ADELE)
    response = adele.post_form(
        "/crm/settings/tenant", {"auto_sync": "marked", "never_sync": "not an address"}, token_from="/crm/settings"
    )
    assert response.status_code == 400
    assert "is neither an email address nor a domain" in htmllib.unescape(response.get_data(as_text=True))
    assert crm.get(Tenant, CONTOSO).effective_settings()["auto_sync"] == "off"


def test_admin_sets_and_clears_a_users_override(browser, crm, pane):
    adele = browser(ADELE)
    browser(MEGAN)
    # Megan's own choice turns filing on; the admin's override can only narrow it.
    assert pane(MEGAN).put("/settings/me", json={"auto_sync": "known_contacts"}).status_code == 200
    megan = crm.query(User).filter_by(tenant_id=CONTOSO, upn=MEGAN).one()
    response = adele.post_form(
        f"/crm/settings/users/{megan.id}",
        {"auto_link_companies": "off", "auto_sync": "marked", "never_sync": "family.example"},
        token_from="/crm/settings",
    )
    assert response.status_code == 303
    crm.refresh(megan)
    effective = megan.effective_settings()
    assert effective["auto_link_companies"] is False and effective["auto_sync"] == "marked"
    assert "family.example" in effective["never_sync"]
    adele.post_form(
        f"/crm/settings/users/{megan.id}",
        {"auto_link_companies": "inherit", "auto_sync": "inherit", "never_sync": ""},
        token_from="/crm/settings",
    )
    crm.refresh(megan)
    assert megan.restrictions == {}
    assert megan.settings == {"auto_sync": "known_contacts"}  # her own choice is hers to change
    assert megan.effective_settings()["auto_sync"] == "known_contacts"


def test_the_settings_page_says_an_override_only_restricts(browser, crm):
    adele = browser(ADELE)
    megan_browser = browser(MEGAN)
    megan = crm.query(User).filter_by(tenant_id=CONTOSO, upn=MEGAN).one()
    page = htmllib.unescape(adele.get("/crm/settings").get_data(as_text=True))
    assert "Here you can only restrict what a person's mailbox files" in page
    assert "You can never turn filing on for someone" in page
    assert f'action="/crm/settings/users/{megan.id}"' in page
    assert "Their choice: organization default (Off)" in page
    # The form offers no way to widen: no "on" for companies, no mode above "marked".
    row = page.split(f'id="user-{megan.id}"', 1)[1].split("</form>", 1)[0]
    assert 'value="on"' not in row and 'value="known_contacts"' not in row
    # "Yes" for companies is refused, and nothing is saved.
    refused = adele.post_form(
        f"/crm/settings/users/{megan.id}", {"auto_link_companies": "on", "auto_sync": "inherit"}, "/crm/settings"
    )
    assert refused.status_code == 400
    assert "not switch it on for them" in htmllib.unescape(refused.get_data(as_text=True))
    crm.refresh(megan)
    assert megan.restrictions == {} and megan.settings == {}
    # The person restricted reads that an administrator limits what her mailbox files.
    adele.post_form(f"/crm/settings/users/{megan.id}", {"auto_sync": "off"}, "/crm/settings")
    mine = htmllib.unescape(megan_browser.get("/crm/settings").get_data(as_text=True))
    assert "An administrator has limited what your mailbox files" in mine


def test_test_connection_reports_every_check_ok(browser, emulator):
    adele = browser(ADELE)
    page = adele.test_connection()
    checks = checks_of(page)
    assert list(checks) == ["Token", "Consent", "Graph access", "Categories", "Mailbox access"]
    assert all(status == "ok" for status, _ in checks.values()), checks
    categories = emulator.graph("GET", f"/users/{ADELE}/outlook/masterCategories", emulator.app_token(CONTOSO)).json()[
        "value"
    ]
    assert {"Sync to CRM", "Synced to CRM", "Don't sync to CRM"} <= {c["displayName"] for c in categories}


def test_test_connection_names_a_missing_graph_permission_in_plain_words(browser, emulator):
    adele = browser(ADELE)
    emulator.consent(CONTOSO, CLIENT_ID, scopes=ALL_SCOPES, roles=["Contacts.ReadWrite", "MailboxSettings.ReadWrite"])
    page = adele.test_connection()
    checks = checks_of(page)
    assert checks["Token"][0] == "ok"
    status, text = checks["Consent"]
    assert status == "failed"
    assert (
        "The app lacks the Mail.ReadWrite permission in your tenant: an administrator must grant admin "
        f"consent at {emulator.base_url}/{CONTOSO}/adminconsent?client_id={CLIENT_ID}"
    ) in text
    status, text = checks["Graph access"]
    assert status == "failed" and "The app lacks the Mail.ReadWrite permission" in text
    assert checks["Categories"][0] == "ok"


def test_test_connection_without_any_consent_says_the_app_is_not_installed(browser, emulator):
    adele = browser(ADELE)
    emulator.consent(CONTOSO, CLIENT_ID, scopes=ALL_SCOPES, roles=[])
    checks = checks_of(adele.test_connection())
    assert checks["Consent"][0] == "failed"
    for permission in ALL_ROLES:
        assert f"The app lacks the {permission} permission" in checks["Consent"][1]
    assert checks["Graph access"][0] == "failed" and checks["Categories"][0] == "failed"
    assert "MailboxSettings.ReadWrite" in checks["Categories"][1]


def test_test_connection_reports_a_refused_app_registration(browser, emulator, app):
    adele = browser(ADELE)
    secret = app.config["AZURE_CLIENT_SECRET"]
    app.config["AZURE_CLIENT_SECRET"] = "wrong-secret"
    try:
        page = adele.test_connection()
    finally:
        app.config["AZURE_CLIENT_SECRET"] = secret
    checks = checks_of(page)
    assert checks["Token"][0] == "failed" and "AZURE_CLIENT_SECRET" in checks["Token"][1]
    assert [checks[n][0] for n in ("Consent", "Graph access", "Categories")] == ["skipped"] * 3


def test_test_connection_checks_the_users_own_delegated_token(browser, emulator):
    adele = browser(ADELE)
    emulator.clear_requests()
    checks = checks_of(adele.test_connection())
    assert "Your own (delegated) token works too" in checks["Token"][1]
    assert "So can you, with your own token" in checks["Graph access"][1]
    assert emulator.requests(r"/oauth2/v2.0/token$", "POST"), "the delegated token came from the token endpoint"
    assert adele.get("/crm/settings").get_data(as_text=True).count('class="check check-') == 0  # shown once


def test_test_connection_reports_missing_delegated_consent(browser, emulator):
    adele = browser(ADELE)
    emulator.consent(CONTOSO, CLIENT_ID, scopes=["User.Read", "offline_access"], roles=ALL_ROLES)
    checks = checks_of(adele.test_connection())
    status, text = checks["Token"]
    assert status == "failed"
    assert "The delegated permissions are not consented: an administrator must grant admin consent at" in text
    assert [checks[n][0] for n in ("Consent", "Graph access", "Categories")] == ["ok", "ok", "ok"]
