"""GraphEndpoint: one mailbox's requests over the one transport (URLs, the call, its JSON).

The operation modules (batch, messages, contacts, subscriptions) build on it, and
`GraphClient` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from .errors import GraphError
from .odata import response_json
from .pacer import Budget, mailbox_pacer
from .slots import DEFAULT_LEASE_S, mailbox_slots, redis_client
from .transport import DEFAULT_TIMEOUT, Transport, parse_timeout


class GraphEndpoint:
    """One mailbox (`/me`, or `/users/{user}` for app-only work) on Microsoft Graph.

    `token_provider()` returns a bearer token for each request (OBO for delegated,
    client credentials for app-only). Methods raise GraphError subclasses.
    """

    def __init__(
        self,
        base_url: str,
        token_provider: Callable[[], str],
        session: requests.Session,
        user: str | None = None,
        max_wait_s: float = 10.0,
        timeout=DEFAULT_TIMEOUT,
        redis_url: str | None = None,
        mailbox: str | None = None,
        budget: Budget | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.root = "/me" if user is None else f"/users/{quote(str(user), safe='@')}"
        # Work on one mailbox may run in many threads and processes: at most 4 requests
        # to it at a time, as Outlook allows, and within its request budget (across
        # processes when Redis is configured). `mailbox` names it for /me (the signed-in
        # user's object id, the same key app-only work on /users/{id} uses); without it
        # a /me client is neither bounded nor paced. A lease outlives any one request's
        # timeouts.
        key = str(user) if user is not None else mailbox
        connect, read = parse_timeout(timeout)
        slots = (
            None if key is None else mailbox_slots(key, redis_url, lease_s=max(DEFAULT_LEASE_S, 2 * (connect + read)))
        )
        pacer = (
            None
            if key is None or budget is None
            else mailbox_pacer(key, budget, redis_url, redis_client=redis_client(redis_url) if redis_url else None)
        )
        self.transport = Transport(
            session,
            token_provider,
            timeout=timeout,
            max_wait_s=max_wait_s,
            slots=slots,
            pacer=pacer,
            mailbox=key,
        )

    def _url(self, path_or_link: str) -> str:
        if path_or_link.startswith("/"):
            return self.base_url + path_or_link
        # A nextLink/deltaLink: only ever follow one back to our own Graph endpoint,
        # or the bearer token would go wherever a response pointed.
        base = urlsplit(self.base_url)
        link = urlsplit(path_or_link)
        if (link.scheme, link.netloc) != (base.scheme, base.netloc) or not link.path.startswith(base.path + "/"):
            raise GraphError(502, "UnexpectedLink", "Graph returned a paging link outside its own endpoint")
        return path_or_link

    def _call(
        self, method: str, path: str, *, json_body=None, prefer=None, idempotent: bool | None = None, headers=None
    ) -> Any:
        response = self.transport.request(
            method, self._url(path), json=json_body, prefer=prefer, idempotent=idempotent, headers=headers
        )
        if response.status_code == 204 or not response.content:
            return None
        return response_json(response)

    def _item(self, collection: str, item_id: str) -> str:
        return f"{self.root}/{collection}/{quote(str(item_id), safe='=')}"
