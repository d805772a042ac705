"""The CRM pages in a real Chromium: the CSP keeps remote images (and any script)
from loading until "Show images", and keeps email formatting.

The browser backend listens on a random port, which no redirect URI of the
emulator's app names, so these tests start signed in: the session cookie is
minted with the app's own signing key, holding exactly what sign-in stores.
(Sign-in itself is tested in tests/server/web/ through the emulator's sign-in page.)
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.crm.models import User
from server.db import session_scope
from tests.support.arrange_records import filed_email
from tests.support.identities import ADELE_OID, CONTOSO
from tests.support.outlook_page import sign_in_to_crm_pages

GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


class ImageServer:
    """A remote image host that counts what the browser fetched from it."""

    def __init__(self):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", str(len(GIF)))
                self.end_headers()
                self.wfile.write(GIF)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def image_server():
    server = ImageServer()
    yield server
    server.stop()


@pytest.fixture
def signed_in(browser_context, backend, crm_app):
    """A browser tab signed in as Adele (session cookie as /auth/callback writes it)."""
    sign_in_to_crm_pages(browser_context, crm_app, backend.url)
    page = browser_context.new_page()
    page.dialogs = []
    page.console_messages = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: page.console_messages.append(msg.text))
    return page


def file_for_adele(app, **fields):
    with session_scope(app) as session:
        user = session.query(User).filter_by(tenant_id=CONTOSO, oid=ADELE_OID).one()
        return filed_email(session, user, **fields).id


def test_remote_images_are_fetched_only_after_show_images(signed_in, backend, crm_app, image_server):
    email_id = file_for_adele(
        crm_app,
        subject="Newsletter",
        body_html=(
            f'<p>Hello</p><img src="{image_server.url}/pixel.gif?to=adele" width="20" height="20" alt="logo">'
            '<table><tr><td style="color: rgb(200, 0, 0)">Total</td></tr></table>'
        ),
    )
    page = signed_in
    page.goto(f"{backend.url}/crm/emails/{email_id}")
    page.wait_for_load_state("networkidle")
    assert image_server.hits == []
    # Email formatting survives the CSP (inline style attributes only on this page).
    assert page.eval_on_selector(".email-body td", "e => getComputedStyle(e).color") == "rgb(200, 0, 0)"

    page.get_by_role("link", name="Show images").click()
    page.wait_for_load_state("networkidle")
    assert image_server.hits == ["/pixel.gif?to=adele"]
    assert page.eval_on_selector(".email-body img", "img => img.complete && img.naturalWidth") == 1


def test_hostile_email_runs_nothing_in_the_browser(signed_in, backend, crm_app, image_server):
    email_id = file_for_adele(
        crm_app,
        subject="Invoice",
        body_html=(
            '<p>Invoice</p><script>alert("script")</script>'
            f'<img src="x" onerror="alert(\'onerror\')"><img src="{image_server.url}/leak.gif" onload="alert(1)">'
            '<a id="pay" href="javascript:alert(\'link\')">Pay</a>'
            "<svg onload=\"alert('svg')\"></svg><iframe src=\"javascript:alert('frame')\"></iframe>"
        ),
    )
    page = signed_in
    page.goto(f"{backend.url}/crm/emails/{email_id}?images=1")
    page.wait_for_load_state("networkidle")
    links = page.locator(".email-body a")
    for i in range(links.count()):
        links.nth(i).click()
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.url.startswith(f"{backend.url}/crm/emails/{email_id}")
