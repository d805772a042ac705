"""Entra ID subset: metadata and JWKS as Microsoft documents them, token shapes, OAuth errors."""

import jwt
import pytest

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
SECRET = "local-emulator-only"
API_URI = f"api://localhost:5000/{CLIENT_ID}"
OFFICE_ID = "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
PERSONAL = "9188040d-6c67-4c5b-b112-36a304b66dad"
ADELE = ("0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71", "adele.vance@contoso.com")

# Fields of https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration
V2_METADATA_FIELDS = {
    "token_endpoint",
    "token_endpoint_auth_methods_supported",
    "jwks_uri",
    "response_modes_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "response_types_supported",
    "scopes_supported",
    "issuer",
    "request_uri_parameter_supported",
    "userinfo_endpoint",
    "authorization_endpoint",
    "device_authorization_endpoint",
    "http_logout_supported",
    "frontchannel_logout_supported",
    "end_session_endpoint",
    "claims_supported",
    "kerberos_endpoint",
    "tenant_region_scope",
    "cloud_instance_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "rbac_url",
}


def metadata(emulator, tenant, v2=True):
    path = f"/{tenant}/v2.0/.well-known/openid-configuration" if v2 else f"/{tenant}/.well-known/openid-configuration"
    return emulator.session.get(emulator.base_url + path, timeout=10)


def signing_key(emulator, tenant="organizations"):
    jwks = emulator.session.get(f"{emulator.base_url}/{tenant}/discovery/v2.0/keys", timeout=10).json()
    return {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}


def verified(emulator, token, audience, issuer=None):
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, signing_key(emulator)[kid].key, algorithms=["RS256"], audience=audience, issuer=issuer)


def token_request(emulator, tenant, **form):
    return emulator.session.post(f"{emulator.base_url}/{tenant}/oauth2/v2.0/token", data=form, timeout=10)


def test_tenant_metadata_has_microsofts_fields_and_our_endpoints(emulator):
    doc = metadata(emulator, CONTOSO).json()
    assert V2_METADATA_FIELDS <= doc.keys()
    base = emulator.base_url
    assert doc["issuer"] == f"{base}/{CONTOSO}/v2.0"
    assert doc["token_endpoint"] == f"{base}/{CONTOSO}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{base}/{CONTOSO}/oauth2/v2.0/authorize"
    assert doc["jwks_uri"] == f"{base}/{CONTOSO}/discovery/v2.0/keys"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "client_secret_post" in doc["token_endpoint_auth_methods_supported"]
    assert {"openid", "profile", "email", "offline_access"} <= set(doc["scopes_supported"])
    assert doc["msgraph_host"] == "graph.microsoft.com"


def test_domain_metadata_resolves_to_the_tenant_id(emulator):
    doc = metadata(emulator, "contoso.com").json()
    assert doc["issuer"] == f"{emulator.base_url}/{CONTOSO}/v2.0"
    assert CONTOSO in doc["token_endpoint"]


@pytest.mark.parametrize("tenant", ["organizations", "common"])
def test_multi_tenant_metadata_uses_the_tenantid_placeholder(emulator, tenant):
    doc = metadata(emulator, tenant).json()
    assert doc["issuer"] == f"{emulator.base_url}/{{tenantid}}/v2.0"
    assert doc["token_endpoint"] == f"{emulator.base_url}/{tenant}/oauth2/v2.0/token"
    assert doc["tenant_region_scope"] is None


def test_v1_metadata_has_the_v1_issuer(emulator):
    doc = metadata(emulator, CONTOSO, v2=False).json()
    assert doc["issuer"] == f"{emulator.base_url}/{CONTOSO}/"
    assert doc["token_endpoint"] == f"{emulator.base_url}/{CONTOSO}/oauth2/token"
    keys = emulator.session.get(doc["jwks_uri"], timeout=10).json()["keys"]
    assert keys and "issuer" not in keys[0]


def test_unknown_tenant_metadata_is_an_aadsts_error(emulator):
    response = metadata(emulator, "nowhere.example")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_jwks_keys_have_rsa_fields_and_a_kid(emulator):
    keys = emulator.session.get(f"{emulator.base_url}/{CONTOSO}/discovery/v2.0/keys", timeout=10).json()["keys"]
    key = keys[0]
    assert {"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"} <= key.keys()
    assert key["kty"] == "RSA" and key["use"] == "sig"
    assert key["issuer"] == f"{emulator.base_url}/{CONTOSO}/v2.0"


def test_pane_token_v2_verifies_against_jwks(emulator):
    token = emulator.pane_token(ADELE[1])
    claims = verified(emulator, token, CLIENT_ID, f"{emulator.base_url}/{CONTOSO}/v2.0")
    assert claims["ver"] == "2.0"
    assert claims["scp"] == "access_as_user"
    assert claims["azp"] == OFFICE_ID
    assert (claims["oid"], claims["preferred_username"], claims["tid"]) == (ADELE[0], ADELE[1], CONTOSO)
    assert claims["nbf"] <= claims["iat"] < claims["exp"]


def test_pane_token_v1_has_the_identifier_uri_audience(emulator):
    token = emulator.pane_token(ADELE[1], ver=1)
    claims = verified(emulator, token, API_URI, f"{emulator.base_url}/{CONTOSO}/")
    assert claims["ver"] == "1.0" and claims["appid"] == OFFICE_ID and claims["upn"] == ADELE[1]


def test_pane_token_names_the_client_that_asked_for_it(emulator):
    other = "3c9f5e27-8b1d-4f60-a4c2-7d1e0b9a6f58"
    assert verified(emulator, emulator.pane_token(ADELE[1], azp=other), CLIENT_ID)["azp"] == other
    v1 = verified(emulator, emulator.pane_token(ADELE[1], ver=1, azp=other), API_URI)
    assert v1["appid"] == other and "azp" not in v1


def test_a_personal_account_gets_tokens_of_the_personal_accounts_tenant(emulator):
    claims = verified(emulator, emulator.pane_token("sam.taylor@outlook.com"), CLIENT_ID)
    assert claims["tid"] == PERSONAL
    assert claims["iss"] == f"{emulator.base_url}/{PERSONAL}/v2.0"


def test_graph_token_is_delegated_with_consented_scopes(emulator):
    claims = verified(emulator, emulator.graph_token(ADELE[1]), "https://graph.microsoft.com")
    assert claims["ver"] == "1.0"
    assert claims["iss"] == f"{emulator.base_url}/{CONTOSO}/"
    assert {"Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite", "User.Read"} <= set(
        claims["scp"].split()
    )
    assert "offline_access" not in claims["scp"].split()
    assert claims["upn"] == ADELE[1] and claims["appid"] == CLIENT_ID


def test_app_token_carries_consented_roles(emulator):
    claims = verified(emulator, emulator.app_token(FABRIKAM), "https://graph.microsoft.com")
    assert sorted(claims["roles"]) == ["Contacts.ReadWrite", "Mail.ReadWrite", "MailboxSettings.ReadWrite"]
    assert "scp" not in claims and claims["idtyp"] == "app" and claims["tid"] == FABRIKAM


def test_client_credentials_answers_the_documented_shape(emulator):
    response = token_request(
        emulator,
        CONTOSO,
        grant_type="client_credentials",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        scope="https://graph.microsoft.com/.default",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and isinstance(body["ext_expires_in"], int)
    assert "refresh_token" not in body
    assert verified(emulator, body["access_token"], "https://graph.microsoft.com")["roles"]


def test_client_secret_basic_is_accepted(emulator):
    response = emulator.session.post(
        f"{emulator.base_url}/{CONTOSO}/oauth2/v2.0/token",
        auth=(CLIENT_ID, SECRET),
        timeout=10,
        data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
    )
    assert response.status_code == 200


def test_client_credentials_needs_a_tenant(emulator):
    response = token_request(
        emulator,
        "organizations",
        grant_type="client_credentials",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        scope="https://graph.microsoft.com/.default",
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [50059]


def test_client_credentials_needs_a_default_scope(emulator):
    response = token_request(
        emulator, CONTOSO, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=SECRET, scope="Mail.Read"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_oauth_errors_have_entras_shape(emulator):
    response = token_request(
        emulator,
        CONTOSO,
        grant_type="client_credentials",
        client_id=CLIENT_ID,
        client_secret="wrong",
        scope="https://graph.microsoft.com/.default",
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: ")
    assert body["error_codes"] == [7000215]
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= body.keys()


def test_unknown_client_is_unauthorized_client(emulator):
    response = token_request(
        emulator,
        CONTOSO,
        grant_type="client_credentials",
        client_id="00000000-0000-0000-0000-000000000001",
        client_secret="x",
        scope="https://graph.microsoft.com/.default",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert response.json()["error_codes"] == [700016]


def test_unsupported_grant_type(emulator):
    response = token_request(emulator, CONTOSO, grant_type="password", client_id=CLIENT_ID)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_get_on_the_token_endpoint_is_an_oauth_error_not_a_page(emulator):
    response = emulator.session.get(f"{emulator.base_url}/{CONTOSO}/oauth2/v2.0/token", timeout=10)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


def test_v1_token_endpoint_maps_resource_to_default_scope(emulator):
    response = emulator.session.post(
        f"{emulator.base_url}/{CONTOSO}/oauth2/token",
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "resource": "https://graph.microsoft.com",
        },
    )
    assert response.status_code == 200


def test_userinfo_answers_for_a_delegated_graph_token(emulator):
    doc = metadata(emulator, CONTOSO).json()
    token = emulator.graph_token(ADELE[1])
    response = emulator.session.get(doc["userinfo_endpoint"], headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["email"] == ADELE[1] and response.json()["name"] == "Adele Vance"
    assert emulator.session.get(doc["userinfo_endpoint"], timeout=10).status_code == 401


def test_logout_returns_to_a_registered_origin_only(emulator):
    doc = metadata(emulator, CONTOSO).json()
    back = emulator.session.get(
        doc["end_session_endpoint"],
        allow_redirects=False,
        timeout=10,
        params={"post_logout_redirect_uri": "http://localhost:5000/", "state": "s1"},
    )
    assert back.status_code == 302 and back.headers["Location"] == "http://localhost:5000/?state=s1"
    elsewhere = emulator.session.get(
        doc["end_session_endpoint"],
        allow_redirects=False,
        timeout=10,
        params={"post_logout_redirect_uri": "https://evil.example/"},
    )
    assert elsewhere.status_code == 200 and "signed out" in elsewhere.text
