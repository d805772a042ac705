"""The emulated Outlook in a real Chromium, for the browser tests and the pane benchmark:
the backend served over real HTTP from a thread, the Outlook page with helpers named after
what a user does, and what Graph holds for a message afterwards."""

from __future__ import annotations

import os
import threading
import time
from urllib.parse import quote

from werkzeug.serving import WSGIRequestHandler, make_server

from server.graph.properties import EMAIL_ID, SYNC_STATE
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.page_sessions import signed_in_cookie
from tests.support.paths import ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# `UPDATE_SCREENSHOTS=1 make test` refreshes the committed ones the docs show; otherwise
# they go to test-results/ (ignored), so a test run never dirties the work tree.
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "test-results/screenshots")


class OneRequestPerConnection(WSGIRequestHandler):
    """HTTP/1.0: each connection closes after its answer. With keep-alive, a connection
    the browser opened before `stop()` stayed served by its handler thread after the
    server shut down, so a "backend down" test saw the backend answer now and then."""

    protocol_version = "HTTP/1.0"


class Backend:
    """The backend served over real HTTP from a thread; `stop()`/`start()` take it down and up."""

    def __init__(self, app):
        self.app = app
        self._make_server = make_server
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=OneRequestPerConnection)
        self.port = self.server.server_port
        self.url = f"http://localhost:{self.port}"
        self.thread = None
        self.start()

    def start(self):
        if self.thread and self.thread.is_alive():
            return
        if self.server is None:
            self.server = self._make_server(
                "127.0.0.1", self.port, self.app, threaded=True, request_handler=OneRequestPerConnection
            )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class OutlookPage:
    """The emulated Outlook in a browser tab, with helpers named after what a user does."""

    def __init__(self, context, emulator, backend):
        self.context = context
        self.emulator = emulator
        self.backend = backend
        self.page = context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        self.page.on("pageerror", lambda err: self.console.append(f"pageerror: {err}"))

    def open(
        self,
        upn: str = ADELE,
        lang: str | None = None,
        theme: str | None = None,
        naa: bool = False,
        mailbox: str | None = None,
    ):
        url = f"{self.emulator.base_url}/outlook/?upn={quote(upn)}&addin={quote(self.backend.url)}"
        if lang:
            url += f"&lang={quote(lang)}"
        if theme:
            url += f"&theme={theme}"
        if naa:
            url += "&naa=1"
        if mailbox:  # an older client: the highest Mailbox requirement set it reports
            url += f"&mailbox={mailbox}"
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='true']")
        return self

    def row(self, subject: str):
        return self.page.locator(".message-row", has_text=subject).first

    def select(self, subject: str, *, add: bool = False):
        self.row(subject).click(modifiers=["Control"] if add else [])
        return self

    def message_id(self, subject: str) -> str:
        return self.row(subject).get_attribute("data-id")

    def ribbon(self, label: str):
        return self.page.locator("#ribbon button", has_text=label).first

    def open_pane(self):
        self.page.locator("#ribbon-crmPanelButton").click()  # by manifest id: labels are localised
        self.pane.locator("#app").wait_for(state="visible")
        return self

    def pin(self):
        self.page.locator("#taskpane-pin").click()
        return self

    @property
    def pane(self):
        return self.page.frame_locator("#taskpane-frame")

    def action(self, selector: str):
        """Clicks one of the open message's actions, opening "More actions" first when it is there."""
        if self.pane.locator(f"#actions-menu {selector}").count():
            self.pane.locator("#btn-more-actions").click()
        self.pane.locator(selector).click()
        return self

    def state_badge(self):
        return self.pane.locator("#state")

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")


def person_row(outlook: OutlookPage, address: str):
    """The pane's People row of one address."""
    return outlook.pane.locator(f'#people li.person[data-address="{address}"]')


def sign_in_to_crm_pages(context, app, backend_url: str) -> None:
    """Signs the browser context into the CRM pages as Adele, with the session cookie that
    /auth/callback writes. The browser backend listens on a random port, which no redirect
    URI of the emulator's app names, so the tests cannot go through the sign-in page here
    (tests/server/web/ does)."""
    cookie = signed_in_cookie(app, CONTOSO, ADELE_OID, ADELE, "Adele Vance", admin=True)
    context.add_cookies(
        [
            {
                "name": app.config["SESSION_COOKIE_NAME"],
                "value": cookie,
                "url": backend_url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )


def graph_message(emulator, upn: str, message_id: str) -> dict:
    """The message as Graph has it now: categories plus our two extended properties."""
    token = emulator.graph_token(upn)
    expand = f"singleValueExtendedProperties($filter=id eq '{SYNC_STATE}' or id eq '{EMAIL_ID}')"
    response = emulator.graph(
        "GET", f"/me/messages/{message_id}", token, params={"$select": "id,subject,categories", "$expand": expand}
    )
    response.raise_for_status()
    message = response.json()
    values = {p["id"].lower(): p.get("value") for p in message.get("singleValueExtendedProperties") or []}
    message["crm_state"] = values.get(SYNC_STATE.lower())
    message["crm_email_id"] = values.get(EMAIL_ID.lower())
    return message


def wait_until(check, timeout: float = 10.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
