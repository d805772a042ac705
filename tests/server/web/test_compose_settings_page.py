"""The settings page's filing-from-compose choices: everyone sets their own default and
"Ask when I send to a CRM contact"; the admin restricts how much may be filed."""

from __future__ import annotations

from server.crm.models import Tenant, User
from tests.support.identities import ADELE, CONTOSO, MEGAN, MEGAN_OID


def megans(crm) -> dict:
    crm.expire_all()
    user = crm.query(User).filter_by(tenant_id=CONTOSO, oid=MEGAN_OID).one()
    return user.effective_settings()


def test_a_user_saves_their_compose_preferences(browser, crm, clean_state):
    browser(ADELE).get("/crm/settings")  # Adele is the admin; Megan is not
    megan = browser(MEGAN)
    page = megan.get("/crm/settings").get_data(as_text=True)
    assert 'name="compose_default"' in page and "Ask when I send to a CRM contact" in page

    form = {"language": "auto", "compose_default": "always", "ask_on_send": "on"}
    assert megan.post_form("/crm/settings/me", form, token_from="/crm/settings").status_code == 303
    assert (megans(crm)["compose_default"], megans(crm)["ask_on_send"]) == ("always", True)

    refused = megan.post_form(
        "/crm/settings/me", {"language": "auto", "compose_default": "maybe"}, token_from="/crm/settings"
    )
    assert refused.status_code == 400
    assert megans(crm)["compose_default"] == "always"


def test_the_admin_restricts_filing_from_compose(browser, crm, clean_state):
    adele = browser(ADELE)
    megan = browser(MEGAN)
    form = {"language": "auto", "compose_default": "always"}
    assert megan.post_form("/crm/settings/me", form, token_from="/crm/settings").status_code == 303

    tenant_form = {"auto_sync": "off", "never_sync": "", "compose_limit": "crm_recipients"}
    assert adele.post_form("/crm/settings/tenant", tenant_form, token_from="/crm/settings").status_code == 303
    crm.expire_all()
    assert crm.get(Tenant, CONTOSO).effective_settings()["compose_limit"] == "crm_recipients"
    assert megans(crm)["compose_default"] == "crm_recipients"
    page = megan.get("/crm/settings").get_data(as_text=True)
    assert "Your organization allows at most" in page
    assert '<option value="always" disabled>' in page
    assert megan.post_form("/crm/settings/tenant", tenant_form, token_from="/crm/settings").status_code == 403
