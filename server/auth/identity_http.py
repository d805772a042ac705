"""HTTP to the identity provider: the timeouts, and an msal http client on the trusted session."""

from __future__ import annotations

import requests

METADATA_TIMEOUT = (5.0, 10.0)


class TimeoutHttpClient:
    """What msal calls (get/post/close) on the trusted session, with timeouts: msal
    applies its `timeout=` only to sessions it creates itself."""

    def __init__(self, session: requests.Session, timeout):
        self.session = session
        self.timeout = timeout

    def get(self, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return self.session.get(url, **kwargs)

    def post(self, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return self.session.post(url, **kwargs)

    def close(self):
        pass  # the session is shared and outlives any one msal app
