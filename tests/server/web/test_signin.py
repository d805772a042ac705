"""Sign in with Microsoft through the emulator's real sign-in page; the session cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from server import create_app
from server.web.auth_code_flow import safe_next
from tests.support.backend import backend_settings
from tests.support.identities import ADELE, CLIENT_ID, CONTOSO
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


def test_session_holds_only_who_signed_in(app, clean_state, emulator):
    browser = Browser(app.test_client(), emulator)
    browser.sign_in(ADELE)
    with browser.client.session_transaction() as session:
        assert set(session) == {"user", "signed_in_at", "csrf"}
        assert set(session["user"]) == {"tid", "oid", "upn", "name", "admin"}
        assert session["user"]["tid"] == CONTOSO and session["user"]["upn"] == ADELE
        assert session["user"]["admin"] is True  # what her id token's roles claim said


def test_a_forged_callback_is_refused(app, clean_state):
    client = app.test_client()
    client.get("/auth/signin")
    response = client.get("/auth/callback?code=made-up&state=not-ours")
    assert response.status_code == 400
    assert "did not match" in response.get_data(as_text=True)
    assert client.get("/crm/").status_code == 302  # still signed out


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
    assert cookie.startswith("__Host-crm_session=") and "Secure" in cookie and "HttpOnly" in cookie
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["redirect_uri"] == ["https://localhost:5000/auth/callback"]
