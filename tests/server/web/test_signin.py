"""Sign in with Microsoft through the emulator's real sign-in page; the session cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from server import create_app
from server.auth.page_sessions import hash_id, unseal
from server.crm.models import PageSession, User
from server.web.auth_code_flow import safe_next
from tests.support.backend import backend_settings
from tests.support.identities import ADELE, ADELE_OID, CLIENT_ID, CONTOSO, SAM
from tests.support.signin_client import Browser


def test_pages_send_a_signed_out_visitor_to_sign_in(client):
    response = client.get("/crm/contacts/1")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/auth/signin"
    assert parse_qs(target.query)["next"] == ["/crm/contacts/1"]


def test_sign_in_uses_the_registered_redirect_uri_and_pkce(client, app):
    response = client.get("/auth/signin")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["redirect_uri"] == ["http://localhost:5000/auth/callback"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and query["state"] and query["nonce"]


def test_sign_in_lands_on_the_page_asked_for_with_a_safe_cookie(app, clean_state, emulator):
    browser = Browser(app.test_client(), emulator)
    done = browser.sign_in(ADELE, next_path="/crm/search?q=ly")
    cookie = done.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    page = browser.get("/crm/")
    assert page.status_code == 200
    assert "Adele Vance" in page.get_data(as_text=True)


def test_session_holds_only_who_signed_in(app, clean_state, emulator, crm):
    """The cookie is only the session's random id; the server keeps its hash, who signed
    in (tenant and user) and the CSRF token, and the refresh token only sealed."""
    browser = Browser(app.test_client(), emulator)
    browser.sign_in(ADELE)
    assert browser.client.get_cookie("crm_signin") is None  # the sign-in round trip's cookie is gone
    session_id = browser.client.get_cookie("crm_session").value
    assert len(session_id) >= 43 and "." not in session_id  # 256 random bits, nothing signed inside
    row = crm.scalar(select(PageSession))
    assert row.id_hash == hash_id(session_id) and session_id not in repr(row.__dict__)
    user = crm.get(User, row.user_id)
    assert (row.tenant_id, user.oid, user.upn) == (CONTOSO, ADELE_OID, ADELE)
    assert set(row.data) == {"csrf", "admin"}
    assert row.data["admin"] is True  # what her id token's roles claim said
    assert row.refresh_token and not row.refresh_token.startswith("1.A")
    assert unseal(app.config["SECRET_KEY"], row.refresh_token).startswith("1.A")  # Entra's, sealed


def test_a_forged_callback_is_refused(app, clean_state):
    client = app.test_client()
    client.get("/auth/signin")
    response = client.get("/auth/callback?code=made-up&state=not-ours")
    assert response.status_code == 400
    assert "did not match" in response.get_data(as_text=True)
    assert client.get("/crm/").status_code == 302  # still signed out


def test_a_personal_microsoft_account_cannot_sign_in_to_the_pages(make_app, clean_state, emulator):
    browser = Browser(make_app().test_client(), emulator)
    refused = browser.callback_answer(SAM)
    assert refused.status_code == 403
    assert "work or school account" in refused.get_data(as_text=True)
    assert browser.client.get("/crm/").status_code == 302  # not signed in

    allowed = Browser(make_app(ALLOW_PERSONAL_ACCOUNTS=True).test_client(), emulator)
    allowed.sign_in(SAM)
    assert allowed.get("/crm/").status_code == 200


BYPASS_FORMS = [
    "//evil.example/x",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\u2028/evil.example",
    "/\u00a0/evil.example",
    "/\u200b/evil.example",
    "///evil.example",
    " /crm/",
    "",
]


@pytest.mark.parametrize("target", BYPASS_FORMS)
def test_next_never_leaves_the_site_whatever_the_form(app, target):
    with app.test_request_context("/auth/signin"):
        assert safe_next(target) == "/crm/"


@pytest.mark.parametrize("target", ["/crm/", "/crm/contacts/7?q=nov%C3%A1k", "/crm/emails/3#notes"])
def test_next_keeps_a_path_of_this_site(app, target):
    with app.test_request_context("/auth/signin"):
        assert safe_next(target) == target


def test_next_never_leaves_the_site(app, clean_state, emulator):
    browser = Browser(app.test_client(), emulator)
    browser.client.get("/auth/signin", query_string={"next": "//evil.example/x"})
    with browser.client.session_transaction() as session:
        assert session["auth_next"] == "/crm/"


def test_sign_out_needs_the_form_token_and_ends_the_session(browser):
    adele = browser(ADELE)
    assert adele.client.post("/auth/signout").status_code == 400
    assert adele.get("/crm/").status_code == 200
    response = adele.post_form("/auth/signout")
    assert response.status_code == 302
    signed_out = adele.get(response.headers["Location"])
    assert "You are signed out" in signed_out.get_data(as_text=True)
    assert "Sign out" not in signed_out.get_data(as_text=True)
    assert adele.get("/crm/").status_code == 302


def test_secure_cookie_when_served_over_https(emulator, database_url, tmp_path):
    app = create_app(
        backend_settings(emulator, database_url, PUBLIC_BASE_URL="https://localhost:5000", INSTANCE_DIR=str(tmp_path))
    )
    client = app.test_client()
    response = client.get("/auth/signin", base_url="https://localhost:5000")
    cookie = response.headers["Set-Cookie"]
    # Before sign-in only the round trip's cookie; the session's has the same options.
    assert cookie.startswith("__Host-crm_signin=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Path=/" in cookie
    assert app.session_interface.get_cookie_name(app) == "__Host-crm_session"
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["redirect_uri"] == ["https://localhost:5000/auth/callback"]


def test_over_https_the_session_cookie_is_host_only_secure_and_ends_at_sign_out(
    clean_state, emulator, database_url, tmp_path
):
    app = create_app(
        backend_settings(emulator, database_url, PUBLIC_BASE_URL="https://localhost:5000", INSTANCE_DIR=str(tmp_path))
    )
    browser = Browser(app.test_client(), emulator, base_url="https://localhost:5000")
    done = browser.sign_in(ADELE)
    cookies = done.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("__Host-crm_session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Path=/" in session_cookie and "Domain" not in session_cookie
    assert any(c.startswith("__Host-crm_signin=;") for c in cookies)  # the round trip's cookie deleted
    assert browser.get("/crm/").status_code == 200
    browser.post_form("/auth/signout")
    assert browser.get("/crm/").status_code == 302
