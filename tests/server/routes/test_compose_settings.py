"""The filing-from-compose settings in GET/PUT /api/v1/settings/me: the toggle's
default ("always" | "crm_recipients" | "never") and "Ask when I send to a CRM contact",
which the compose pane and the event handlers read; the admin's restriction only
narrows."""

from __future__ import annotations

from server.crm.models import Tenant
from tests.support.identities import CONTOSO


def test_defaults_are_crm_recipients_and_no_asking(pane):
    body = pane().get("/settings/me").json
    assert (body["compose_default"], body["ask_on_send"]) == ("crm_recipients", False)
    assert body["tenant"]["compose_limit"] == "always"


def test_a_user_changes_and_resets_their_compose_settings(pane):
    user = pane()
    changed = user.put("/settings/me", json={"compose_default": "always", "ask_on_send": True})
    assert changed.status_code == 200, changed.json
    assert (changed.json["compose_default"], changed.json["ask_on_send"]) == ("always", True)
    assert user.get("/settings/me").json["compose_default"] == "always"
    back = user.put("/settings/me", json={"compose_default": None, "ask_on_send": None}).json
    assert (back["compose_default"], back["ask_on_send"]) == ("crm_recipients", False)


def test_bad_compose_settings_get_4xx_with_the_error_shape(pane):
    user = pane()
    for body in (
        {"compose_default": "sometimes"},
        {"ask_on_send": "perhaps"},
        {"compose_limit": "never"},  # the admin's restriction is not the user's to change
    ):
        response = user.put("/settings/me", json=body)
        assert 400 <= response.status_code < 500, (body, response.json)
        assert response.json["error"]["code"] and response.json["error"]["message"]
    assert user.get("/settings/me").json["compose_default"] == "crm_recipients"


def test_the_admins_restriction_narrows_and_never_widens(pane, crm):
    user = pane()
    assert user.put("/settings/me", json={"compose_default": "always"}).status_code == 200
    tenant = crm.get(Tenant, CONTOSO)
    tenant.update_settings(compose_limit="crm_recipients")
    crm.commit()

    body = user.get("/settings/me").json
    assert body["compose_default"] == "crm_recipients" and body["tenant"]["compose_limit"] == "crm_recipients"
    assert user.put("/settings/me", json={"compose_default": "never"}).json["compose_default"] == "never"

    tenant.update_settings(compose_limit="never")
    crm.commit()
    assert user.put("/settings/me", json={"compose_default": "always"}).json["compose_default"] == "never"


def test_the_openapi_document_describes_the_compose_settings(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    settings = spec["components"]["schemas"]["Settings"]["properties"]
    assert settings["compose_default"]["enum"] == ["never", "crm_recipients", "always"]
    assert settings["ask_on_send"]["type"] == "boolean"
