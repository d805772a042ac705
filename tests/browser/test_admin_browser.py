"""The import's job page in a real Chromium: with scripts on, job_progress.js (allowed
by the CSP, no inline script) moves the progress bar and reloads to the summary;
with scripts off, the page's <noscript> refresh gets there too."""

from __future__ import annotations

import pytest

from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.outlook_page import SCREENSHOTS
from tests.support.page_sessions import signed_in_cookie

ROWS = 20_000  # a few seconds of import: long enough to watch it run


def big_csv() -> bytes:
    lines = ["first_name,last_name,email,company,job_title,phone"]
    lines += [f"Person,Number{i},person{i}@customer{i % 50}.example,Customer {i % 50},," for i in range(ROWS)]
    lines.append("Bad,Row,not-an-address,,,")
    return ("\n".join(lines) + "\n").encode()


def signed_in_tab(context, app, base_url):
    """A tab signed in as Adele, Contoso's admin (the session sign-in begins: her id
    token carries the app role Crm.Admin)."""
    cookie = signed_in_cookie(app, CONTOSO, ADELE_OID, ADELE, "Adele Vance", admin=True)
    context.add_cookies(
        [
            {
                "name": app.config["SESSION_COOKIE_NAME"],
                "value": cookie,
                "url": base_url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda msg: page.console_messages.append(msg.text))
    page.on("pageerror", lambda err: page.console_messages.append(f"pageerror: {err}"))
    return page


@pytest.mark.parametrize("scripts", [True, False], ids=["with-js", "without-js"])
def test_import_page_shows_progress_then_the_summary(chromium, backend, crm_app, scripts):  # noqa: F811
    context = chromium.new_context(java_script_enabled=scripts, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    try:
        page = signed_in_tab(context, crm_app, backend.url)
        page.goto(f"{backend.url}/crm/admin/import")
        page.set_input_files(
            "#import-file", files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": big_csv()}]
        )
        page.get_by_role("button", name="Import").click()
        page.wait_for_url("**/crm/admin/jobs/*")
        bar = page.locator("#job-progress")
        assert bar.is_visible()
        page.get_by_role("heading", name="Summary").wait_for()
        assert bar.get_attribute("value") == "100"
        text = page.locator("main").inner_text()
        assert f"{ROWS:,}" in text and "not-an-address" in text and str(ROWS + 2) in text
        refused = [m for m in page.console_messages if "Content Security Policy" in m or "pageerror" in m]
        assert refused == []
        if scripts:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "admin-import-summary.png"), full_page=True)
            page.goto(f"{backend.url}/crm/admin/jobs")
            page.screenshot(path=str(SCREENSHOTS / "admin-jobs.png"), full_page=True)
    finally:
        context.close()
