"""Bearer-token validation and Graph tokens, against the emulator as identity provider.

Good tokens come from the emulator (what Office hands the pane). Bad ones are signed
here: with the emulator's own key when one claim is under test, with a key of ours
when the signature is.
"""

import base64
import hashlib
import hmac
import json
import socket
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify

from server import errors
from server.auth import current_principal, init_app, require_auth
from server.auth.graph_tokens import GraphTokens
from server.auth.principal import AuthError
from server.auth.token_validator import TokenValidator
from server.config import default_client_ids
from server.errors import ApiError
from server.tls import http_session
from tests.support.identities import ADELE_OID, PERSONAL, SAM

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
APP_URI = f"api://localhost:5000/{CLIENT_ID}"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
ADELE = "adele.vance@contoso.com"
PAT = "pat.kowalski@fabrikam.com"
TOKEN_PATH = r"/oauth2/v2\.0/token$"
OFFICE = "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e"
OTHER_CLIENT = "3c9f5e27-8b1d-4f60-a4c2-7d1e0b9a6f58"  # some app the user consented to, not ours


def make_config(emulator, tmp_path, **overrides):
    return {
        "AUTHORITY_HOST": emulator.base_url,
        "GRAPH_BASE_URL": emulator.graph_url,
        "CA_BUNDLE": emulator.ca_path,
        "INSTANCE_DIR": str(tmp_path),
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": "local-emulator-only",
        "AZURE_TENANT_ID": "organizations",
        "API_AUDIENCE": f"{APP_URI},{CLIENT_ID}",
        "ALLOWED_CLIENT_IDS": default_client_ids(CLIENT_ID),
        "ALLOW_PERSONAL_ACCOUNTS": False,
        **overrides,
    }


class CountingSession:
    """The trusted session, remembering every URL it fetched (a response hook)."""

    def __init__(self, config):
        self.session = http_session(config)
        self.urls = []
        self.session.hooks["response"].append(lambda r, *a, **k: self.urls.append(r.url))

    def count(self, fragment):
        return sum(fragment in url for url in self.urls)


@pytest.fixture
def config(emulator, tmp_path):
    return make_config(emulator, tmp_path)


@pytest.fixture
def validator(config):
    return TokenValidator(config, http_session(config))


@pytest.fixture
def client(config):
    """A minimal Flask app with the real decorator and the one error shape."""
    app = Flask(__name__)
    app.config.update(config)
    errors.init_app(app)
    init_app(app)

    @app.get("/whoami")
    @require_auth
    def whoami():
        p = current_principal()
        return jsonify(tid=p.tid, oid=p.oid, upn=p.upn, name=p.name, app_only=p.app_only, scopes=sorted(p.scopes))

    @app.get("/background")
    @require_auth(role="Mail.ReadWrite")
    def background():
        p = current_principal()
        return jsonify(tid=p.tid, app_only=p.app_only, roles=sorted(p.roles))

    return app.test_client()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def emulator_key(emulator):
    pem = (Path(emulator.state_dir) / "signing-key.pem").read_bytes()
    return serialization.load_pem_private_key(pem, password=None)


def emulator_kid(emulator):
    return jwt.get_unverified_header(emulator.pane_token(ADELE))["kid"]


def claims(emulator, tid=CONTOSO, **overrides):
    now = int(time.time())
    base = {
        "aud": CLIENT_ID,
        "iss": f"{emulator.base_url}/{tid}/v2.0",
        "tid": tid,
        "oid": ADELE_OID,
        "scp": "access_as_user",
        "azp": OFFICE,
        "ver": "2.0",
        "name": "Adele Vance",
        "preferred_username": ADELE,
        "iat": now - 300,
        "nbf": now - 300,
        "exp": now + 3600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed_by_emulator(emulator, payload, kid=None):
    return jwt.encode(
        payload, emulator_key(emulator), algorithm="RS256", headers={"kid": kid or emulator_kid(emulator), "typ": "JWT"}
    )


def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def assert_401(response, code=None):
    assert response.status_code == 401, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


# -- good tokens ----------------------------------------------------------------------


def test_v2_pane_token_gives_the_user(client, emulator):
    response = client.get("/whoami", headers=bearer(emulator.pane_token(ADELE, ver=2)))
    assert response.status_code == 200
    assert response.get_json() == {
        "tid": CONTOSO,
        "oid": ADELE_OID,
        "upn": ADELE,
        "name": "Adele Vance",
        "app_only": False,
        "scopes": ["access_as_user"],
    }


def test_v1_pane_token_gives_the_user(client, emulator):
    response = client.get("/whoami", headers=bearer(emulator.pane_token(ADELE, ver=1)))
    assert response.status_code == 200
    assert response.get_json()["upn"] == ADELE
    assert response.get_json()["tid"] == CONTOSO


def test_users_of_any_tenant_are_accepted_when_multi_tenant(client, emulator):
    response = client.get("/whoami", headers=bearer(emulator.pane_token(PAT)))
    assert response.status_code == 200
    assert response.get_json()["tid"] == FABRIKAM


def test_token_expired_within_the_clock_skew_is_accepted(validator, emulator):
    now = int(time.time())
    token = signed_by_emulator(emulator, claims(emulator, exp=now - 30))
    assert validator.validate(token).oid == ADELE_OID


# -- refused tokens ---------------------------------------------------------------------


def test_missing_bearer_token_gets_401(client):
    assert_401(client.get("/whoami"), "missing_token")
    assert_401(client.get("/whoami", headers={"Authorization": "Basic abc"}), "missing_token")


def test_expired_token_gets_401(client, emulator):
    error = assert_401(
        client.get("/whoami", headers=bearer(emulator.pane_token(ADELE, expires_in=-600))), "token_expired"
    )
    assert "expired" in error["message"]


def test_token_not_yet_valid_gets_401(client, emulator):
    now = int(time.time())
    token = signed_by_emulator(emulator, claims(emulator, nbf=now + 600, iat=now + 600))
    assert_401(client.get("/whoami", headers=bearer(token)), "invalid_token")


def test_wrong_audience_gets_401(client, emulator):
    token = signed_by_emulator(emulator, claims(emulator, aud="api://localhost:5000/another-app"))
    error = assert_401(client.get("/whoami", headers=bearer(token)), "invalid_token")
    assert "another application" in error["message"]


def test_wrong_issuer_gets_401(client, emulator):
    token = signed_by_emulator(emulator, claims(emulator, iss=f"https://evil.example/{CONTOSO}/v2.0"))
    assert_401(client.get("/whoami", headers=bearer(token)), "invalid_token")


def test_issuer_of_another_tenant_than_tid_gets_401(client, emulator):
    token = signed_by_emulator(emulator, claims(emulator, iss=f"{emulator.base_url}/{FABRIKAM}/v2.0"))
    assert_401(client.get("/whoami", headers=bearer(token)), "invalid_token")


def test_other_tenant_gets_401_when_one_tenant_is_configured(emulator, tmp_path):
    config = make_config(emulator, tmp_path, AZURE_TENANT_ID=CONTOSO)
    validator = TokenValidator(config, http_session(config))
    assert validator.validate(emulator.pane_token(ADELE)).tid == CONTOSO
    assert validator.validate(emulator.pane_token(ADELE, ver=1)).tid == CONTOSO
    with pytest.raises(AuthError) as refused:
        validator.validate(emulator.pane_token(PAT))
    assert refused.value.status == 401
    assert "own organization" in refused.value.message


def test_bad_signature_gets_401(client, emulator):
    token = jwt.encode(claims(emulator), other_key(), algorithm="RS256", headers={"kid": emulator_kid(emulator)})
    error = assert_401(client.get("/whoami", headers=bearer(token)), "invalid_token")
    assert "signature" in error["message"]


def test_alg_none_gets_401(client, emulator):
    token = jwt.encode(claims(emulator), None, algorithm="none", headers={"kid": emulator_kid(emulator)})
    assert_401(client.get("/whoami", headers=bearer(token)), "invalid_token")


def test_hmac_signed_with_the_public_key_gets_401(client, emulator):
    # The classic key-confusion attack: HS256 keyed with the RSA public key.
    public_pem = (
        emulator_key(emulator)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": emulator_kid(emulator)}).encode())
    body = b64(json.dumps(claims(emulator)).encode())
    signature = b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert_401(client.get("/whoami", headers=bearer(f"{head}.{body}.{signature}")), "invalid_token")


def test_missing_scope_gets_401(client, emulator):
    assert_401(
        client.get("/whoami", headers=bearer(emulator.pane_token(ADELE, scope="Other.Scope"))), "insufficient_scope"
    )
    token = signed_by_emulator(emulator, claims(emulator, scp=None))
    assert_401(client.get("/whoami", headers=bearer(token)), "insufficient_scope")


def test_garbage_token_gets_401(client):
    assert_401(client.get("/whoami", headers=bearer("not-a-jwt")), "invalid_token")


def test_app_only_token_is_accepted_only_where_its_role_is_required(client, emulator):
    app_claims = claims(
        emulator,
        scp=None,
        preferred_username=None,
        name=None,
        idtyp="app",
        roles=["Mail.ReadWrite"],
        oid="5f0e4c9e-0000-4000-8000-000000000001",
    )
    token = signed_by_emulator(emulator, app_claims)
    assert_401(client.get("/whoami", headers=bearer(token)), "insufficient_scope")
    response = client.get("/background", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"tid": CONTOSO, "app_only": True, "roles": ["Mail.ReadWrite"]}

    without_role = signed_by_emulator(emulator, dict(app_claims, roles=["Contacts.ReadWrite"]))
    assert_401(client.get("/background", headers=bearer(without_role)), "insufficient_scope")


def test_an_app_only_token_that_also_carries_a_scope_is_refused(client, emulator):
    mixed = signed_by_emulator(emulator, claims(emulator, idtyp="app", roles=["Mail.ReadWrite"]))
    assert_401(client.get("/whoami", headers=bearer(mixed)), "insufficient_scope")
    assert_401(client.get("/background", headers=bearer(mixed)), "invalid_token")


# -- who may call: personal accounts, the client application ------------------------------


@pytest.mark.parametrize("ver", [1, 2])
def test_a_personal_microsoft_account_is_refused(client, emulator, ver):
    token = emulator.pane_token(SAM, ver=ver)
    assert jwt.decode(token, options={"verify_signature": False})["tid"] == PERSONAL
    error = assert_401(client.get("/whoami", headers=bearer(token)), "personal_account_not_allowed")
    assert "work or school account" in error["message"]


def test_personal_accounts_are_accepted_when_allowed(emulator, tmp_path):
    config = make_config(emulator, tmp_path, ALLOW_PERSONAL_ACCOUNTS=True)
    principal = TokenValidator(config, http_session(config)).validate(emulator.pane_token(SAM))
    assert (principal.tid, principal.upn) == (PERSONAL, SAM)


@pytest.mark.parametrize("ver", [1, 2])
def test_a_token_another_client_application_obtained_is_refused(client, emulator, ver):
    token = emulator.pane_token(ADELE, ver=ver, azp=OTHER_CLIENT)
    error = assert_401(client.get("/whoami", headers=bearer(token)), "client_not_allowed")
    assert OTHER_CLIENT in error["message"] and "ALLOWED_CLIENT_IDS" in error["message"]


@pytest.mark.parametrize("office_client", default_client_ids("").split(","))
def test_tokens_of_every_documented_office_client_are_accepted(client, emulator, office_client):
    response = client.get("/whoami", headers=bearer(emulator.pane_token(ADELE, azp=office_client)))
    assert response.status_code == 200, response.get_json()


def test_our_own_pane_client_is_accepted_as_nested_app_authentication_gets_it(client, emulator):
    # The pane's MSAL (nested app authentication) asks as our own SPA client: the emulator's
    # token endpoint issues the token to the client that asked.
    for ver in (1, 2):
        token = emulator.pane_token(ADELE, ver=ver, azp=CLIENT_ID)
        assert client.get("/whoami", headers=bearer(token)).status_code == 200


def test_a_token_naming_no_client_application_is_refused(client, emulator):
    error = assert_401(client.get("/whoami", headers=bearer(signed_by_emulator(emulator, claims(emulator, azp=None)))))
    assert "client application" in error["message"]
    # A v1 token names its client in appid; an azp there does not stand in for it.
    v1 = claims(emulator, ver="1.0", iss=f"{emulator.base_url}/{CONTOSO}/", aud=APP_URI)
    assert_401(client.get("/whoami", headers=bearer(signed_by_emulator(emulator, v1))), "invalid_token")
    with_appid = dict(v1, appid=OFFICE)
    assert client.get("/whoami", headers=bearer(signed_by_emulator(emulator, with_appid))).status_code == 200


def test_the_allowed_clients_are_a_setting(emulator, tmp_path):
    config = make_config(emulator, tmp_path, ALLOWED_CLIENT_IDS=f" {OTHER_CLIENT.upper()} ")
    validator = TokenValidator(config, http_session(config))
    assert validator.validate(emulator.pane_token(ADELE, azp=OTHER_CLIENT)).oid == ADELE_OID
    with pytest.raises(AuthError) as refused:
        validator.validate(emulator.pane_token(ADELE))
    assert refused.value.code == "client_not_allowed"


# -- keys -------------------------------------------------------------------------------


def test_jwks_is_fetched_once_for_many_tokens(emulator, config):
    counting = CountingSession(config)
    validator = TokenValidator(config, counting.session)
    for upn, ver in [(ADELE, 2), (ADELE, 1), (PAT, 2), (ADELE, 2), (PAT, 1)]:
        validator.validate(emulator.pane_token(upn, ver=ver))
    assert counting.count("/discovery/") == 1
    assert counting.count("openid-configuration") == 2  # v2 and v1 metadata, once each


def test_unknown_kid_triggers_one_jwks_refetch(emulator, config):
    counting = CountingSession(config)
    validator = TokenValidator(config, counting.session)
    validator.validate(emulator.pane_token(ADELE))
    assert counting.count("/discovery/") == 1

    rotated = jwt.encode(claims(emulator), other_key(), algorithm="RS256", headers={"kid": "rotated-key-1"})
    with pytest.raises(AuthError, match="unknown key"):
        validator.validate(rotated)
    assert counting.count("/discovery/") == 2

    # Another unknown kid right after does not make us fetch again (rate limit).
    again = jwt.encode(claims(emulator), other_key(), algorithm="RS256", headers={"kid": "rotated-key-2"})
    with pytest.raises(AuthError):
        validator.validate(again)
    validator.validate(emulator.pane_token(ADELE))
    assert counting.count("/discovery/") == 2


def test_unreachable_authority_gives_503(tmp_path, emulator):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    config = make_config(emulator, tmp_path, AUTHORITY_HOST=f"https://localhost:{closed_port}")
    validator = TokenValidator(config, http_session(config))
    with pytest.raises(ApiError) as unavailable:
        validator.validate(emulator.pane_token(ADELE))
    assert (unavailable.value.status, unavailable.value.code) == (503, "identity_unavailable")

    tokens = GraphTokens(config, http_session(config))
    principal = TokenValidator(make_config(emulator, tmp_path), http_session(config)).validate(
        emulator.pane_token(ADELE)
    )
    with pytest.raises(ApiError) as unavailable:
        tokens.delegated(principal)
    assert (unavailable.value.status, unavailable.value.code) == (503, "identity_unavailable")


# -- Graph tokens -------------------------------------------------------------------------


def test_on_behalf_of_token_is_cached(emulator, config, validator):
    tokens = GraphTokens(config, http_session(config))
    principal = validator.validate(emulator.pane_token(ADELE))
    emulator.clear_requests()
    first = tokens.delegated(principal)
    second = tokens.delegated(principal)
    assert first == second
    assert len(emulator.requests(path=TOKEN_PATH, method="POST")) == 1
    graph_claims = jwt.decode(first, options={"verify_signature": False})
    assert graph_claims["aud"] == "https://graph.microsoft.com"
    assert graph_claims["oid"] == ADELE_OID
    assert "Mail.ReadWrite" in graph_claims["scp"].split()

    # A new assertion (the pane's next token) is exchanged anew.
    tokens.delegated(validator.validate(emulator.pane_token(ADELE, ver=1)))
    assert len(emulator.requests(path=TOKEN_PATH, method="POST")) == 2


def test_app_only_token_is_cached(emulator, config):
    tokens = GraphTokens(config, http_session(config))
    emulator.clear_requests()
    first = tokens.app_only(CONTOSO)
    assert tokens.app_only(CONTOSO) == first
    assert len(emulator.requests(path=TOKEN_PATH, method="POST")) == 1
    graph_claims = jwt.decode(first, options={"verify_signature": False})
    assert graph_claims["tid"] == CONTOSO
    assert "Mail.ReadWrite" in graph_claims["roles"]
    assert "scp" not in graph_claims


def test_missing_consent_gives_403_consent_required(emulator, config, validator):
    tokens = GraphTokens(config, http_session(config))
    principal = validator.validate(emulator.pane_token(PAT))
    emulator.consent(FABRIKAM, scopes=[], roles=[])
    try:
        with pytest.raises(ApiError) as refused:
            tokens.delegated(principal)
    finally:
        emulator.reset()
    assert (refused.value.status, refused.value.code) == (403, "consent_required")
    assert "administrator" in refused.value.message
    assert "AADSTS" not in refused.value.message


def test_wrong_client_secret_is_a_server_misconfiguration(emulator, tmp_path, validator):
    config = make_config(emulator, tmp_path, AZURE_CLIENT_SECRET="not-the-secret")
    tokens = GraphTokens(config, http_session(config))
    with pytest.raises(ApiError) as refused:
        tokens.delegated(validator.validate(emulator.pane_token(ADELE)))
    assert (refused.value.status, refused.value.code) == (500, "identity_misconfigured")


def test_keys_are_refreshed_after_a_day(emulator, config):
    now = [1_000_000.0]
    counting = CountingSession(config)
    validator = TokenValidator(config, counting.session, clock=lambda: now[0])
    token = emulator.pane_token(ADELE)
    validator.validate(token)
    now[0] += 23 * 3600
    validator.validate(token)
    assert counting.count("/discovery/") == 1
    now[0] += 2 * 3600
    validator.validate(token)
    assert counting.count("/discovery/") == 2
