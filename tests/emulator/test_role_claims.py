"""App roles and directory roles in the tokens the emulator issues, as Entra puts them:
`roles` holds the values of the app roles of the token's app assigned to the user, and
`wids` the template ids of the user's directory roles when the app's manifest asks for
them (groupMembershipClaims "DirectoryRole"). Tests add users with or without roles."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import jwt

from tests.support.identities import ADELE, CLIENT_ID, GLOBAL_ADMINISTRATOR, MEGAN, PAT, add_person

REDIRECT_URI = "http://localhost:5000/auth/callback"

SECRET = "local-emulator-only"
USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509"  # every member user's directory role


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def id_token_claims(emulator, upn: str) -> dict:
    """The id token of a silent sign-in of `upn` to our app (code, then token)."""
    base = f"{emulator.base_url}/organizations/oauth2/v2.0"
    query = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI}
    query.update(scope="openid profile User.Read", state="s", prompt="none", login_hint=upn)
    answer = emulator.session.get(f"{base}/authorize", params=query, allow_redirects=False, timeout=10)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "code": code, "redirect_uri": REDIRECT_URI}
    body = emulator.session.post(f"{base}/token", data={**form, "client_secret": SECRET}, timeout=10).json()
    return claims_of(body["id_token"])


def test_the_id_token_and_pane_token_carry_the_users_app_roles_and_directory_roles(emulator):
    adele = id_token_claims(emulator, ADELE)
    assert adele["roles"] == ["Crm.Admin"] and adele["wids"] == [USER_ROLE]
    assert claims_of(emulator.pane_token(ADELE))["roles"] == ["Crm.Admin"]
    assert claims_of(emulator.pane_token(ADELE, ver=1))["roles"] == ["Crm.Admin"]

    megan = id_token_claims(emulator, MEGAN)
    assert "roles" not in megan and megan["wids"] == [USER_ROLE]  # no role: no claim, as in Entra

    pat = claims_of(emulator.pane_token(PAT))
    assert "roles" not in pat and pat["wids"] == [GLOBAL_ADMINISTRATOR, USER_ROLE]
    assert id_token_claims(emulator, PAT)["wids"] == [GLOBAL_ADMINISTRATOR, USER_ROLE]


def test_graph_tokens_carry_directory_roles_but_not_our_apps_roles(emulator):
    claims = claims_of(emulator.graph_token(ADELE))
    assert "roles" not in claims and claims["wids"] == [USER_ROLE]


def test_added_users_get_the_roles_asked_for_and_a_reset_removes_them(emulator):
    admin = add_person(emulator, "nestor.wilke@contoso.com", crm_admin=True, global_admin=True)
    plain = add_person(emulator, "lidia.holloway@contoso.com")
    assert admin["directory_roles"] == [GLOBAL_ADMINISTRATOR]
    nestor = id_token_claims(emulator, "nestor.wilke@contoso.com")
    assert nestor["roles"] == ["Crm.Admin"] and GLOBAL_ADMINISTRATOR in nestor["wids"]
    assert nestor["tid"] == admin["tid"] and nestor["oid"] == admin["oid"]
    assert "roles" not in claims_of(emulator.pane_token(plain["upn"]))

    emulator.set_roles(ADELE, app_roles=[], directory_roles=[GLOBAL_ADMINISTRATOR])
    adele = claims_of(emulator.pane_token(ADELE))
    assert "roles" not in adele and GLOBAL_ADMINISTRATOR in adele["wids"]

    emulator.reset()
    assert "nestor.wilke@contoso.com" not in {u["upn"] for u in emulator.users()}
    assert claims_of(emulator.pane_token(ADELE))["roles"] == ["Crm.Admin"]


def test_a_role_the_app_does_not_define_cannot_be_assigned(emulator):
    response = emulator.session.put(
        f"{emulator.base_url}/_emulator/users/{MEGAN}/roles", json={"app_roles": ["Crm.Owner"]}, timeout=10
    )
    assert response.status_code == 400 and "Crm.Owner" in response.json()["error"]["message"]
    taken = emulator.session.post(f"{emulator.base_url}/_emulator/users", json={"upn": ADELE}, timeout=10)
    assert taken.status_code == 400
