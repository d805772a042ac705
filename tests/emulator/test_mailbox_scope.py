"""App-only access scoped to some mailboxes, as Exchange Online's RBAC for Applications or
an application access policy does it: any other mailbox answers 403 ErrorAccessDenied
"Access to OData is disabled." (Graph's documented body), delegated access is untouched."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from emulator.store import Store
from tests.support.emulated_graph import APP_ID, Graph, WebhookReceiver, assert_graph_error
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, MEGAN, MEGAN_OID, PAT
from tests.support.paths import ROOT

ODATA_DISABLED = "Access to OData is disabled."


@pytest.fixture
def scoped_to_adele(emulator):
    return emulator.mailbox_scope(CONTOSO, [ADELE], group="crm-sync@contoso.com")


def app_on(emulator, upn: str) -> Graph:
    return Graph(emulator, emulator.app_token(CONTOSO), f"/users/{upn}")


def test_a_mailbox_outside_the_scope_answers_graphs_exact_body(emulator, scoped_to_adele):
    assert scoped_to_adele["scope"] == {"group": "crm-sync@contoso.com", "kind": "policy", "mailboxes": [ADELE_OID]}
    r = app_on(emulator, MEGAN).get("~/mailFolders/inbox/messages", params={"$top": 1})
    error = assert_graph_error(r, 403, "ErrorAccessDenied")
    assert error["message"] == ODATA_DISABLED
    # by object id, on writes and on the other mailbox families too
    by_oid = Graph(emulator, emulator.app_token(CONTOSO), f"/users/{MEGAN_OID}")
    for method, path in (
        ("GET", "~/messages"),
        ("GET", "~/mailFolders/inbox/messages/delta"),
        ("GET", "~/contacts"),
        ("GET", "~/mailboxSettings"),
        ("GET", "~/outlook/masterCategories"),
    ):
        assert assert_graph_error(by_oid.request(method, path), 403, "ErrorAccessDenied")["message"] == ODATA_DISABLED


def test_a_mailbox_inside_the_scope_stays_readable(emulator, scoped_to_adele):
    assert app_on(emulator, ADELE).get("~/mailFolders/inbox/messages", params={"$top": 1}).status_code == 200


def test_delegated_access_is_never_scoped(emulator, megan, scoped_to_adele):
    assert megan.get("/me/mailFolders/inbox/messages", params={"$top": 1}).status_code == 200


def test_batch_parts_are_refused_one_by_one(emulator, scoped_to_adele):
    app = Graph(emulator, emulator.app_token(CONTOSO))
    r = app.post(
        "/$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": f"/users/{ADELE}/messages?$top=1"},
                {"id": "2", "method": "GET", "url": f"/users/{MEGAN}/messages?$top=1"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    parts = {p["id"]: p for p in r.json()["responses"]}
    assert parts["1"]["status"] == 200
    assert parts["2"]["status"] == 403
    assert parts["2"]["body"]["error"]["code"] == "ErrorAccessDenied"
    assert parts["2"]["body"]["error"]["message"] == ODATA_DISABLED


def test_a_subscription_on_a_mailbox_outside_the_scope_is_refused(emulator, scoped_to_adele):
    receiver = WebhookReceiver()
    try:
        body = {
            "changeType": "created",
            "notificationUrl": receiver.url + "/api/v1/notifications",
            "resource": f"users/{MEGAN_OID}/mailFolders('inbox')/messages",
            "expirationDateTime": (datetime.now(UTC) + timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "clientState": "s",
        }
        r = Graph(emulator, emulator.app_token(CONTOSO)).post("/subscriptions", json=body)
        error = assert_graph_error(r, 403, "ExtensionError")
        assert ODATA_DISABLED in error["message"]
        assert receiver.validations == []  # refused before the handshake
    finally:
        receiver.close()


def test_the_scope_is_per_tenant_and_can_be_lifted(emulator, scoped_to_adele):
    pat = Graph(emulator, emulator.app_token(FABRIKAM), f"/users/{PAT}")
    assert pat.get("~/messages", params={"$top": 1}).status_code == 200
    listed = emulator.admin("GET", "mailbox-scope").json()["scopes"]
    assert listed == [
        {
            "client_id": APP_ID,
            "tid": CONTOSO,
            "group": "crm-sync@contoso.com",
            "kind": "policy",
            "mailboxes": [ADELE_OID],
        }
    ]
    assert emulator.mailbox_scope(CONTOSO, None)["scope"] is None
    assert app_on(emulator, MEGAN).get("~/messages", params={"$top": 1}).status_code == 200


def test_the_admin_api_refuses_a_mailbox_of_another_tenant(emulator):
    url = f"{emulator.base_url}/_emulator/mailbox-scope"
    assert emulator.session.post(url, json={"tid": CONTOSO, "mailboxes": [PAT]}, timeout=30).status_code == 400
    assert emulator.session.post(url, json={"tid": CONTOSO, "mailboxes": "x"}, timeout=30).status_code == 400


def test_a_reset_reloads_the_fixtures_scope(emulator, scoped_to_adele):
    emulator.reset()
    assert emulator.admin("GET", "mailbox-scope").json()["scopes"] == []


def test_a_fixture_seeds_the_scope():
    fixture = json.loads((ROOT / "emulator" / "fixtures" / "test.json").read_text())
    fixture["apps"][0]["mailbox_scope"] = {CONTOSO: {"group": "crm@contoso.com", "mailboxes": [MEGAN]}}
    store = Store(fixture)
    assert not store.app_reaches(APP_ID, store.users[ADELE_OID])
    assert store.app_reaches(APP_ID, store.users[MEGAN_OID])
    assert store.app_reaches("another-app", store.users[ADELE_OID])


def test_rbac_for_applications_grants_the_listed_mailboxes_without_entra_consent(emulator):
    # RBAC for Applications: Entra's unscoped consent is removed, Exchange grants the roles on the group.
    emulator.consent(CONTOSO, scopes=["Mail.ReadWrite", "User.Read"], roles=[])
    scope = emulator.mailbox_scope(CONTOSO, [ADELE], kind="rbac")["scope"]
    assert scope["kind"] == "rbac" and "Mail.ReadWrite" in scope["roles"]
    assert app_on(emulator, ADELE).get("~/messages", params={"$top": 1}).status_code == 200
    error = assert_graph_error(app_on(emulator, MEGAN).get("~/messages", params={"$top": 1}), 403, "ErrorAccessDenied")
    assert error["message"] == "Access is denied. Check credentials and try again."
    # Entra's consent, when still granted, reaches every mailbox: the grants add up.
    emulator.consent(CONTOSO, scopes=["Mail.ReadWrite", "User.Read"], roles=["Mail.ReadWrite"])
    assert app_on(emulator, MEGAN).get("~/messages", params={"$top": 1}).status_code == 200
