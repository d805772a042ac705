"""The pages' defences before any body is read: an upload is refused for want of a
session, the admin right or its CSRF token while its body is still on the wire, and
form posts to /crm are rate-limited per user (per IP when signed out)."""

from __future__ import annotations

import io
import socket
import threading

import pytest
from werkzeug.serving import make_server

from tests.support.admin_forms import CSV, job_id_of, upload
from tests.support.identities import ADELE, MEGAN
from tests.support.signin_client import Browser

DECLARED = 20 * 1024 * 1024  # what an attacker announces: the import's whole allowance
BOUNDARY = "x-boundary"
LIMIT = 3


@pytest.fixture
def served(app, clean_state):
    """The app over HTTP on 127.0.0.1 (a real socket: the test controls what is sent)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()


def answer_to_a_partial_upload(port: int, path: str = "/crm/admin/import", cookie: str | None = None) -> str:
    """Announces a 20 MB multipart body, sends its first bytes only, and reads the
    status line. A server that read the body before answering would wait for the rest,
    which never comes (the socket's timeout only keeps a broken server from hanging
    the suite)."""
    head = [
        f"POST {path} HTTP/1.1",
        "Host: localhost:5000",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {DECLARED}",
        "Accept: text/html",
    ]
    if cookie:
        head.append(f"Cookie: {cookie}")
    first_bytes = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n" + first_bytes).encode())
        received = b""
        while b"\r\n" not in received:
            chunk = conn.recv(4096)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n", 1)[0].decode()


def session_cookie(person: Browser) -> str:
    cookie = person.client.get_cookie("crm_session")
    return f"{cookie.key}={cookie.value}"


def test_a_signed_out_upload_is_refused_before_its_body_is_read(served):
    assert answer_to_a_partial_upload(served) == "HTTP/1.1 401 UNAUTHORIZED"
    assert answer_to_a_partial_upload(served, "/crm/admin/import?csrf_token=guessed").startswith("HTTP/1.1 401")


def test_a_colleagues_upload_is_refused_before_its_body_is_read(served, browser):
    browser(ADELE)  # the tenant's admin
    megan = browser(MEGAN)
    token = megan.csrf_token("/crm/")
    status = answer_to_a_partial_upload(served, f"/crm/admin/import?csrf_token={token}", session_cookie(megan))
    assert status == "HTTP/1.1 403 FORBIDDEN"


def test_the_admins_upload_without_its_token_is_refused_before_its_body_is_read(served, browser):
    adele = browser(ADELE)
    cookie = session_cookie(adele)
    assert answer_to_a_partial_upload(served, cookie=cookie) == "HTTP/1.1 400 BAD REQUEST"
    assert answer_to_a_partial_upload(served, "/crm/admin/import?csrf_token=forged", cookie).startswith("HTTP/1.1 400")


def test_the_uploads_token_is_in_the_forms_action_not_in_its_body(browser, crm):
    adele = browser(ADELE)
    page = adele.get("/crm/admin/import").get_data(as_text=True)
    assert 'name="csrf_token"' not in page.split('enctype="multipart/form-data"', 1)[1].split("</form>", 1)[0]
    assert job_id_of(upload(adele, CSV))  # the form's action carries it
    # A token in the body is not looked for: reading it would mean reading the upload.
    token = adele.csrf_token("/crm/")
    in_body = adele.client.post(
        "/crm/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(CSV), "c.csv")},
        content_type="multipart/form-data",
    )
    assert in_body.status_code == 400
    by_header = adele.client.post(
        "/crm/admin/import",
        data={"file": (io.BytesIO(CSV), "c.csv")},
        content_type="multipart/form-data",
        headers={"X-CSRF-Token": token},
    )
    assert job_id_of(by_header)


# -- rate limit of the pages' posts ------------------------------------------------------


@pytest.fixture
def limited(make_app, clean_state):
    return make_app(PAGES_RATE_LIMIT=f"{LIMIT} per minute")


def assert_too_many(response):
    assert response.status_code == 429, response.status_code
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 61
    page = response.get_data(as_text=True)
    assert "Too many requests" in page and f"Wait {wait} seconds" in page
    assert response.headers["Content-Security-Policy"]


def test_a_users_form_posts_over_the_limit_get_429_with_a_page_saying_how_long_to_wait(limited, emulator):
    adele = Browser(limited.test_client(), emulator)
    adele.sign_in(ADELE)
    for _ in range(LIMIT):
        assert adele.post_form("/crm/admin/jobs/1/retry").status_code == 404
    assert_too_many(adele.post_form("/crm/admin/jobs/1/retry"))
    assert_too_many(adele.client.post("/crm/admin/import", data={"file": "x"}))
    assert adele.get("/crm/").status_code == 200  # reading pages is not limited
    api_like = adele.client.post("/crm/admin/jobs/1/retry", headers={"Accept": "application/json"})
    assert api_like.status_code == 429 and api_like.json["error"]["code"] == "rate_limited"
    assert api_like.json["error"]["retry_after"] == int(api_like.headers["Retry-After"])

    megan = Browser(limited.test_client(), emulator)  # another user from the same address
    megan.sign_in(MEGAN)
    assert megan.post_form("/crm/admin/jobs/1/retry").status_code != 429


def test_signed_out_posts_are_counted_per_address(limited):
    client = limited.test_client()
    for _ in range(LIMIT):
        assert client.post("/crm/admin/import").status_code == 401
    assert_too_many(client.post("/crm/admin/bulk-sync"))
    elsewhere = client.post("/crm/admin/import", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 401


def test_off_disables_the_pages_limit(make_app, clean_state):
    client = make_app(PAGES_RATE_LIMIT="off", RATE_LIMIT="5 per minute").test_client()
    for _ in range(LIMIT * 3):
        assert client.post("/crm/admin/import").status_code == 401
