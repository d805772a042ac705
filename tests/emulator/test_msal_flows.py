"""msal against the emulator: on-behalf-of, client credentials, auth code + refresh, and their errors.

These are the calls the backend makes, with the same library and settings
(instance_discovery=False, a Session that trusts only the emulator's CA).
"""

import base64
import hashlib
import re
import time
from urllib.parse import parse_qs, urljoin, urlparse

import jwt
import msal
import pytest

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
SECRET = "local-emulator-only"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
ADELE = ("0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71", "adele.vance@contoso.com")
PAT = ("e7c3a9b1-2f5d-4a68-9b14-6c0e8d2f3a57", "pat.kowalski@fabrikam.com")
REDIRECT_URI = "http://localhost:5000/auth/callback"
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


def confidential_app(emulator, tenant="organizations", secret=SECRET):
    return msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=secret,
        authority=f"{emulator.base_url}/{tenant}",
        instance_discovery=False,
        http_client=emulator.session,
    )


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


# -- on-behalf-of ----------------------------------------------------------------------
@pytest.mark.parametrize("authority", ["organizations", CONTOSO])
def test_obo_returns_a_graph_token_for_the_same_user(emulator, authority):
    result = confidential_app(emulator, authority).acquire_token_on_behalf_of(
        emulator.pane_token(ADELE[1]), GRAPH_DEFAULT
    )
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] > 3000
    claims = claims_of(result["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert (claims["oid"], claims["tid"], claims["upn"]) == (ADELE[0], CONTOSO, ADELE[1])
    assert {"Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite"} <= set(claims["scp"].split())
    # msal asks for offline_access, so a refresh token comes back too.
    assert result.get("refresh_token")


def test_obo_accepts_a_v1_pane_token(emulator):
    result = confidential_app(emulator).acquire_token_on_behalf_of(emulator.pane_token(ADELE[1], ver=1), GRAPH_DEFAULT)
    assert claims_of(result["access_token"])["oid"] == ADELE[0]


def test_obo_grants_only_the_requested_scopes(emulator):
    result = confidential_app(emulator).acquire_token_on_behalf_of(
        emulator.pane_token(ADELE[1]), ["https://graph.microsoft.com/Mail.ReadWrite"]
    )
    assert claims_of(result["access_token"])["scp"] == "Mail.ReadWrite"
    assert "https://graph.microsoft.com/Mail.ReadWrite" in result["scope"]


def test_obo_for_a_user_of_another_tenant_gets_that_tenant(emulator):
    result = confidential_app(emulator).acquire_token_on_behalf_of(emulator.pane_token(PAT[1]), GRAPH_DEFAULT)
    assert claims_of(result["access_token"])["tid"] == FABRIKAM


def test_obo_with_a_wrong_secret_is_invalid_client(emulator):
    result = confidential_app(emulator, secret="not-the-secret").acquire_token_on_behalf_of(
        emulator.pane_token(ADELE[1]), GRAPH_DEFAULT
    )
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]


def test_obo_with_an_expired_assertion_is_invalid_grant(emulator):
    expired = emulator.pane_token(ADELE[1], expires_in=-900)
    result = confidential_app(emulator).acquire_token_on_behalf_of(expired, GRAPH_DEFAULT)
    assert result["error"] == "invalid_grant"
    assert 500133 in result["error_codes"]


def test_obo_refuses_an_assertion_for_another_audience(emulator):
    graph_token = emulator.graph_token(ADELE[1])
    result = confidential_app(emulator).acquire_token_on_behalf_of(graph_token, GRAPH_DEFAULT)
    assert result["error"] == "invalid_grant"
    assert 50013 in result["error_codes"]


def test_obo_refuses_a_forged_assertion(emulator):
    token = emulator.pane_token(ADELE[1])
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[::-1]])
    result = confidential_app(emulator).acquire_token_on_behalf_of(forged, GRAPH_DEFAULT)
    assert result["error"] == "invalid_grant"


def test_obo_in_an_unconsented_tenant_needs_consent(emulator):
    emulator.consent(FABRIKAM, scopes=[], roles=[])
    result = confidential_app(emulator).acquire_token_on_behalf_of(emulator.pane_token(PAT[1]), GRAPH_DEFAULT)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [65001]
    assert result.get("suberror") == "consent_required"


def test_obo_for_an_unconsented_scope_needs_consent(emulator):
    result = confidential_app(emulator).acquire_token_on_behalf_of(
        emulator.pane_token(ADELE[1]), ["https://graph.microsoft.com/Calendars.Read"]
    )
    assert result["error_codes"] == [65001]


def test_obo_in_another_tenants_authority_is_refused(emulator):
    result = confidential_app(emulator, FABRIKAM).acquire_token_on_behalf_of(
        emulator.pane_token(ADELE[1]), GRAPH_DEFAULT
    )
    assert result["error"] == "invalid_grant"


# -- client credentials -------------------------------------------------------------------
def test_client_credentials_gives_app_roles(emulator):
    result = confidential_app(emulator, CONTOSO).acquire_token_for_client(GRAPH_DEFAULT)
    assert "access_token" in result, result
    claims = claims_of(result["access_token"])
    assert set(claims["roles"]) == {"Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite"}
    assert claims["tid"] == CONTOSO and claims["appid"] == CLIENT_ID


def test_client_credentials_is_cached_by_msal(emulator):
    app = confidential_app(emulator, CONTOSO)
    app.acquire_token_for_client(GRAPH_DEFAULT)
    emulator.clear_requests()
    again = app.acquire_token_for_client(GRAPH_DEFAULT)
    assert again["token_source"] == "cache"
    assert emulator.requests(path="/oauth2/") == []


def test_client_credentials_with_a_wrong_secret(emulator):
    result = confidential_app(emulator, CONTOSO, secret="nope").acquire_token_for_client(GRAPH_DEFAULT)
    assert result["error"] == "invalid_client"


# -- authorization code + refresh token ---------------------------------------------------
def sign_in(emulator, auth_uri, upn):
    """Follow the sign-in page like a browser: open it, press the user's button; answer the redirect."""
    page = emulator.session.get(auth_uri, timeout=10)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    oid = re.search(rf'value="([^"]+)" data-upn="{re.escape(upn)}"', page.text).group(1)
    answer = emulator.session.post(urljoin(auth_uri, action), data={"oid": oid}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def callback_params(location):
    assert location.startswith(REDIRECT_URI)
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def test_auth_code_flow_with_msal_and_the_sign_in_page(emulator):
    app = confidential_app(emulator)
    flow = app.initiate_auth_code_flow(["User.Read", "Mail.ReadWrite"], redirect_uri=REDIRECT_URI)
    location = sign_in(emulator, flow["auth_uri"], ADELE[1])
    params = callback_params(location)
    assert params["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == ADELE[1]
    assert result["id_token_claims"]["aud"] == CLIENT_ID
    assert set(claims_of(result["access_token"])["scp"].split()) == {"User.Read", "Mail.ReadWrite"}

    refreshed = app.acquire_token_by_refresh_token(result["refresh_token"], ["Mail.ReadWrite"])
    assert "access_token" in refreshed, refreshed
    assert claims_of(refreshed["access_token"])["scp"] == "Mail.ReadWrite"
    assert refreshed["refresh_token"]


def test_a_token_for_our_api_is_issued_to_the_client_that_asked(emulator):
    # What the pane's nested app authentication gets: our API's scope, asked for by our
    # own client, so the token's azp is our client id (not Office's).
    app = confidential_app(emulator)
    scope = f"api://localhost:5000/{CLIENT_ID}/access_as_user"
    flow = app.initiate_auth_code_flow([scope], redirect_uri=REDIRECT_URI)
    result = app.acquire_token_by_auth_code_flow(flow, callback_params(sign_in(emulator, flow["auth_uri"], ADELE[1])))
    assert "access_token" in result, result
    claims = claims_of(result["access_token"])
    assert (claims["aud"], claims["scp"], claims["azp"]) == (CLIENT_ID, "access_as_user", CLIENT_ID)


def test_sign_in_page_lists_only_the_tenants_users(emulator):
    app = confidential_app(emulator, FABRIKAM)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = emulator.session.get(flow["auth_uri"], timeout=10).text
    assert PAT[1] in page and ADELE[1] not in page


def test_unregistered_redirect_uri_is_shown_not_redirected(emulator):
    response = emulator.session.get(
        f"{emulator.base_url}/organizations/oauth2/v2.0/authorize",
        timeout=10,
        allow_redirects=False,
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "User.Read",
            "redirect_uri": "https://evil.example/callback",
            "state": "s",
        },
    )
    assert response.status_code == 400
    assert "AADSTS50011" in response.text


def test_unconsented_tenant_sign_in_redirects_with_consent_required(emulator):
    emulator.consent(FABRIKAM, scopes=[], roles=[])
    app = confidential_app(emulator)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    params = callback_params(sign_in(emulator, flow["auth_uri"], PAT[1]))
    assert params["error"] == "consent_required"
    assert params["error_description"].startswith("AADSTS65001")
    assert params["state"] == flow["state"]


def raw_code(emulator, upn, **extra):
    """Get a code without msal (for PKCE and reuse cases)."""
    query = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "User.Read offline_access openid",
        "state": "xyz",
        "prompt": "none",
        "login_hint": upn,
        **extra,
    }
    response = emulator.session.get(
        f"{emulator.base_url}/organizations/oauth2/v2.0/authorize", params=query, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    return callback_params(response.headers["Location"])["code"]


def redeem(emulator, code, **form):
    data = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "code": code,
        "redirect_uri": REDIRECT_URI,
        **form,
    }
    return emulator.session.post(f"{emulator.base_url}/organizations/oauth2/v2.0/token", data=data, timeout=10)


def test_pkce_verifier_must_match(emulator):
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = raw_code(emulator, ADELE[1], code_challenge=challenge, code_challenge_method="S256")
    wrong = redeem(emulator, code, code_verifier="w" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    code = raw_code(emulator, ADELE[1], code_challenge=challenge, code_challenge_method="S256")
    right = redeem(emulator, code, code_verifier=verifier)  # a public client: no secret
    assert right.status_code == 200, right.text
    assert {"access_token", "refresh_token", "id_token", "scope", "expires_in"} <= right.json().keys()


def test_a_code_is_redeemed_once(emulator):
    code = raw_code(emulator, ADELE[1])
    assert redeem(emulator, code, client_secret=SECRET).status_code == 200
    again = redeem(emulator, code, client_secret=SECRET)
    assert again.status_code == 400 and again.json()["error_codes"] == [54005]


def test_code_redemption_needs_the_secret(emulator):
    response = redeem(emulator, raw_code(emulator, ADELE[1]), client_secret="wrong")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_nonce_goes_into_the_id_token(emulator):
    code = raw_code(emulator, ADELE[1], nonce="n-123")
    body = redeem(emulator, code, client_secret=SECRET).json()
    assert claims_of(body["id_token"])["nonce"] == "n-123"


def test_unknown_refresh_token_is_invalid_grant(emulator):
    result = confidential_app(emulator).acquire_token_by_refresh_token("1.Anot-a-token", ["User.Read"])
    assert result["error"] == "invalid_grant"


def test_refresh_after_consent_revoked_needs_consent(emulator):
    code = raw_code(emulator, ADELE[1])
    refresh = redeem(emulator, code, client_secret=SECRET).json()["refresh_token"]
    emulator.consent(CONTOSO, scopes=[], roles=[])
    result = confidential_app(emulator).acquire_token_by_refresh_token(refresh, ["User.Read"])
    assert result["error_codes"] == [65001]


def test_graph_token_from_obo_lasts_an_hour(emulator):
    result = confidential_app(emulator).acquire_token_on_behalf_of(emulator.pane_token(ADELE[1]), GRAPH_DEFAULT)
    claims = claims_of(result["access_token"])
    assert 3000 < claims["exp"] - time.time() <= 3600


def test_form_post_response_mode_posts_the_code_back(emulator):
    app = confidential_app(emulator)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post")
    page = emulator.session.get(flow["auth_uri"], timeout=10).text
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1).replace("&amp;", "&")
    oid = re.search(rf'value="([^"]+)" data-upn="{re.escape(ADELE[1])}"', page).group(1)
    answer = emulator.session.post(urljoin(flow["auth_uri"], action), data={"oid": oid}, timeout=10)
    assert answer.status_code == 200
    assert f'action="{REDIRECT_URI}"' in answer.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', answer.text))
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert "access_token" in result, result


# -- a user's account changed in Entra ------------------------------------------------------
def test_a_disabled_account_can_neither_renew_nor_sign_in_nor_trade_a_token(emulator):
    refresh = redeem(emulator, raw_code(emulator, ADELE[1]), client_secret=SECRET).json()["refresh_token"]
    pane_token = emulator.pane_token(ADELE[1])
    assert emulator.account(ADELE[1], enabled=False)["account_enabled"] is False

    renewed = confidential_app(emulator).acquire_token_by_refresh_token(refresh, ["User.Read"])
    assert renewed["error"] == "invalid_grant" and renewed["error_codes"] == [50057]
    traded = confidential_app(emulator).acquire_token_on_behalf_of(pane_token, GRAPH_DEFAULT)
    assert traded["error"] == "invalid_grant" and traded["error_codes"] == [50057]
    app = confidential_app(emulator)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    params = callback_params(sign_in(emulator, flow["auth_uri"], ADELE[1]))
    assert params["error"] == "access_denied" and params["error_description"].startswith("AADSTS50057")

    emulator.account(ADELE[1], enabled=True)
    assert "access_token" in confidential_app(emulator).acquire_token_by_refresh_token(refresh, ["User.Read"])


def test_revoked_sessions_refuse_the_refresh_tokens_issued_before(emulator):
    before = redeem(emulator, raw_code(emulator, ADELE[1]), client_secret=SECRET).json()["refresh_token"]
    assert emulator.account(ADELE[1], revoke_sessions=True)["revoked_refresh_tokens"] >= 1
    result = confidential_app(emulator).acquire_token_by_refresh_token(before, ["User.Read"])
    assert result["error"] == "invalid_grant"
    after = redeem(emulator, raw_code(emulator, ADELE[1]), client_secret=SECRET).json()["refresh_token"]
    assert "access_token" in confidential_app(emulator).acquire_token_by_refresh_token(after, ["User.Read"])
