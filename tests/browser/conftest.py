"""Browser tests: Chromium (Debian's /usr/bin/chromium, driven by Playwright for Python) on the
emulator's Outlook-like page, with our real task pane served by the real backend.

Processes: the emulator over HTTPS (Graph, Entra ID, the Outlook page and the Office.js shim)
and the backend (a real HTTP server in a thread, migrated SQLite database). The pane loads
office.js from the emulator (OFFICE_JS_URL) and calls the backend with tokens the emulator
mints for the signed-in demo user, as Office would.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from urllib.parse import quote

import playwright.sync_api as playwright_api  # pinned in requirements-dev.txt; no browser download
import pytest

from tests.conftest import ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
ADELE = "adele.vance@contoso.com"
# `UPDATE_SCREENSHOTS=1 make test` refreshes the committed ones the docs show; otherwise
# they go to test-results/ (ignored), so a test run never dirties the work tree.
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "test-results/screenshots")


# ------------------------------------------------------------------ processes

@pytest.fixture(scope="session")
def outlook_emulator(emulator):
    """The session's emulator (tests/conftest.py); it serves the Outlook page at /outlook/."""
    return emulator


class Backend:
    """The backend served over real HTTP from a thread; `stop()`/`start()` take it down and up."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self._make_server = make_server
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://localhost:{self.port}"
        self.thread = None
        self.start()

    def start(self):
        if self.thread and self.thread.is_alive():
            return
        if self.server is None:
            self.server = self._make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture(scope="session")
def backend(outlook_emulator, tmp_path_factory):
    from server import create_app
    from server.migrate import upgrade

    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'crm.sqlite3'}"
    upgrade(database_url)
    # The port is known once the server socket exists; settings that name it are set after.
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "GRAPH_BASE_URL": outlook_emulator.graph_url,
        "AUTHORITY_HOST": outlook_emulator.base_url,
        "CA_BUNDLE": outlook_emulator.ca_path,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": "local-emulator-only",
        "AZURE_TENANT_ID": "organizations",
        "PUBLIC_BASE_URL": "http://localhost:5000",
        "API_AUDIENCE": f"api://localhost:5000/{CLIENT_ID},{CLIENT_ID}",
        "OFFICE_JS_URL": f"{outlook_emulator.base_url}/outlook/office.js",
        "GRAPH_MAX_WAIT_S": 5,
        "GRAPH_TIMEOUT_S": 5,
        "INSTANCE_DIR": str(tmp_path_factory.mktemp("browser-instance")),
    })
    running = Backend(app)
    app.config["PUBLIC_BASE_URL"] = running.url
    yield running
    running.stop()


# ------------------------------------------------------------------ browser

@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run scripts/install-system-deps.sh (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(ignore_https_errors=True, viewport={"width": 1440, "height": 900},
                                   locale="en-US")
    context.set_default_timeout(15_000)
    yield context
    context.close()


# ------------------------------------------------------------------ the page

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

    def open(self, upn: str = ADELE, lang: str | None = None, theme: str | None = None, naa: bool = False):
        url = f"{self.emulator.base_url}/outlook/?upn={quote(upn)}&addin={quote(self.backend.url)}"
        if lang:
            url += f"&lang={quote(lang)}"
        if theme:
            url += f"&theme={theme}"
        if naa:
            url += "&naa=1"
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

    def state_badge(self):
        return self.pane.locator("#state")

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")


@pytest.fixture
def crm_app(backend):
    """A clean CRM (Contoso's contacts seeded) and a fresh emulator mailbox for each test."""
    from server.crm.models import Base
    from server.db import session_scope
    from tests.api.crm_records import seed_contoso

    with session_scope(backend.app) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
        session.commit()
        seed_contoso(session, CONTOSO)
    return backend.app


@pytest.fixture
def outlook(browser_context, outlook_emulator, backend, crm_app):
    outlook_emulator.reset()
    backend.start()
    page = OutlookPage(browser_context, outlook_emulator, backend)
    yield page
    outlook_emulator.clear_faults()


def graph_message(emulator, upn: str, message_id: str) -> dict:
    """The message as Graph has it now: categories plus our two extended properties."""
    from server.graph.properties import EMAIL_ID, SYNC_STATE

    token = emulator.graph_token(upn)
    expand = f"singleValueExtendedProperties($filter=id eq '{SYNC_STATE}' or id eq '{EMAIL_ID}')"
    response = emulator.graph("GET", f"/me/messages/{message_id}", token,
                              params={"$select": "id,subject,categories", "$expand": expand})
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
