"""Browser tests: Chromium (Debian's /usr/bin/chromium, driven by Playwright for Python) on the
emulator's Outlook-like page, with our real task pane served by the real backend.

Processes: the emulator over HTTPS (Graph, Entra ID, the Outlook page and the Office.js shim)
and the backend (a real HTTP server in a thread, migrated SQLite database). The pane loads
office.js from the emulator (OFFICE_JS_URL) and calls the backend with tokens the emulator
mints for the signed-in demo user, as Office would.
"""

from __future__ import annotations

from pathlib import Path

import playwright.sync_api as playwright_api  # pinned in requirements-dev.txt; no browser download
import pytest

from server import create_app
from server.db import session_scope
from server.migrate import upgrade
from server.sync.recent_reads import reads_for
from tests.support.arrange_contacts import seed_contoso
from tests.support.database import empty_crm
from tests.support.identities import CLIENT_ID, CONTOSO
from tests.support.outlook_page import CHROMIUM, CHROMIUM_ARGS, Backend, OutlookPage

# ------------------------------------------------------------------ processes


@pytest.fixture(scope="session")
def outlook_emulator(emulator):
    """The session's emulator (tests/conftest.py); it serves the Outlook page at /outlook/."""
    return emulator


@pytest.fixture(scope="session")
def backend(outlook_emulator, tmp_path_factory):
    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'crm.sqlite3'}"
    upgrade(database_url)
    # The port is known once the server socket exists; settings that name it are set after.
    app = create_app(
        {
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
            # Background rounds on pane open would add Graph calls to the ones tests count;
            # the test of the category command under the defaults switches it back on.
            "CATCH_UP_ON_OPEN": False,
            "INSTANCE_DIR": str(tmp_path_factory.mktemp("browser-instance")),
        }
    )
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
    context = chromium.new_context(ignore_https_errors=True, viewport={"width": 1440, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    yield context
    context.close()


# ------------------------------------------------------------------ the page


@pytest.fixture
def crm_app(backend):
    """A clean CRM (Contoso's contacts seeded) and a fresh emulator mailbox for each test,
    with no pane read held from an earlier test: a reset gives messages (and the first
    message delivered after it) the ids and etags they had then."""
    with session_scope(backend.app) as session:
        empty_crm(session)
        seed_contoso(session, CONTOSO)
    reads = reads_for(backend.app)
    if reads is not None:
        reads.clear()
    return backend.app


@pytest.fixture
def outlook(browser_context, outlook_emulator, backend, crm_app):
    outlook_emulator.reset()
    backend.start()
    page = OutlookPage(browser_context, outlook_emulator, backend)
    yield page
    outlook_emulator.clear_faults()
