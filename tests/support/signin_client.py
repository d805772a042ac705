"""A Flask test client that signs in like a person, through the emulator's real sign-in
page, and posts forms with their CSRF token, for the tests of the CRM pages."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from tests.support.identities import ADELE

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A Flask test client that signs in like a person: our /auth/signin, the
    emulator's sign-in page (pick the user), back to /auth/callback."""

    def __init__(self, client, emulator, base_url: str | None = None):
        self.client = client
        self.emulator = emulator
        self.upn: str | None = None
        # Our origin as the browser sees it (https: the cookies' Secure and __Host- rules apply).
        self.at = {"base_url": base_url} if base_url else {}

    def sign_in(self, upn: str = ADELE, next_path: str = "/crm/"):
        done = self.callback_answer(upn, next_path)
        assert done.status_code == 302, done.get_data(as_text=True)
        assert urlsplit(done.headers["Location"]).path == urlsplit(next_path).path
        self.upn = upn
        return done

    def callback_answer(self, upn: str, next_path: str = "/crm/"):
        """Our /auth/callback's answer after `upn` picked themselves on the sign-in page."""
        start = self.client.get("/auth/signin", query_string={"next": next_path}, **self.at)
        assert start.status_code == 302, start.get_data(as_text=True)
        auth_uri = start.headers["Location"]
        page = self.emulator.session.get(auth_uri, timeout=10)
        assert page.status_code == 200, page.text
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        oid = re.search(rf'value="([^"]+)" data-upn="{re.escape(upn)}"', page.text, re.IGNORECASE).group(1)
        answer = self.emulator.session.post(
            urljoin(auth_uri, action), data={"oid": oid}, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        back = urlsplit(answer.headers["Location"])
        assert back.path == "/auth/callback"
        return self.client.get(f"{back.path}?{back.query}", **self.at)

    def follow(self, response, limit: int = 10):
        """Follows redirects like a browser: our paths through the test client, the
        emulator's (sign-in, authorize) over HTTPS."""
        for _ in range(limit):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers["Location"]
            if location.startswith(self.emulator.base_url):
                answer = self.emulator.session.get(location, allow_redirects=False, timeout=10)
                assert answer.status_code in (302, 303), answer.text
                location = answer.headers["Location"]
            parts = urlsplit(location)
            response = self.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        raise AssertionError("too many redirects")

    def test_connection(self) -> str:
        """Presses Test connection and answers the results page."""
        response = self.follow(self.post_form("/crm/settings/test-connection", token_from="/crm/settings"))
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    def get(self, path, **kw):
        return self.client.get(path, **self.at, **kw)

    def csrf_token(self, path: str = "/crm/") -> str:
        page = self.client.get(path, **self.at)
        match = CSRF_FIELD.search(page.get_data(as_text=True))
        assert match, "no form with a CSRF token on " + path
        return match.group(1)

    def post_form(self, path, data=None, token_from: str = "/crm/", **kw):
        body = {"csrf_token": self.csrf_token(token_from), **(data or {})}
        return self.client.post(path, data=body, **self.at, **kw)
