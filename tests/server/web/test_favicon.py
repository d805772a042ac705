"""The CRM pages' site icon: served at /favicon.ico as an image to anyone (browsers ask
for it on every page, signed in or not) and linked from every page."""

from __future__ import annotations

import re

from tests.support.identities import ADELE

ICO_MAGIC = b"\x00\x00\x01\x00"


def test_favicon_is_an_icon_for_anyone_and_cacheable(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/x-icon"
    assert response.data.startswith(ICO_MAGIC)
    assert "max-age=" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]


def test_every_page_links_the_icon(browser, client):
    signed_out = client.get("/auth/signed-out")
    person = browser(ADELE)
    for html in [signed_out.get_data(as_text=True)] + [
        person.get(path).get_data(as_text=True) for path in ("/crm/", "/crm/contacts", "/crm/settings")
    ]:
        link = re.search(r'<link rel="icon" href="([^"]+)"', html)
        assert link and link.group(1) == "/favicon.ico", html[:400]
