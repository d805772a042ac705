"""GraphClient: the mailbox operations the backend needs, over the one transport."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote, urlsplit

import requests

from . import properties as props
from .errors import Conflict, GraphError, NotFound, contact_not_found, error_from_body, parse_retry_after
from .slots import DEFAULT_LEASE_S, mailbox_slots
from .transport import DEFAULT_TIMEOUT, RETRY_STATUSES, Transport, merge_prefer, parse_timeout

BATCH_LIMIT = 20          # Graph's $batch maximum
TRANSLATE_LIMIT = 1000    # translateExchangeIds maximum

MESSAGE_FIELDS = (
    "id", "subject", "from", "sender", "toRecipients", "ccRecipients", "bccRecipients",
    "receivedDateTime", "sentDateTime", "internetMessageId", "conversationId",
    "categories", "bodyPreview", "hasAttachments", "isRead", "isDraft", "parentFolderId",
    "webLink",
)
MESSAGE_FIELDS_WITH_BODY = MESSAGE_FIELDS + ("body",)
CONTACT_FIELDS = (
    "id", "displayName", "givenName", "surname", "emailAddresses", "companyName",
    "jobTitle", "businessPhones", "mobilePhone", "homePhones", "categories",
)
_MESSAGE_PROPS = props.expand_filter(props.SYNC_STATE, props.EMAIL_ID)
_CONTACT_PROPS = props.expand_filter(props.CONTACT_ID)
# Attachment metadata only: names and sizes for the CRM, never the content bytes.
_ATTACHMENT_METADATA = ",attachments($select=id,name,contentType,size,isInline)"


@dataclass
class BatchRequest:
    """One request inside a `$batch`; `url` is relative to the Graph base URL."""
    id: str
    method: str
    url: str
    body: Any = None
    headers: dict | None = None
    depends_on: list[str] | None = None


@dataclass
class BatchResponse:
    id: str
    status: int
    headers: dict = field(default_factory=dict)
    body: Any = None
    retry_after: float | None = None   # set when the wait budget ran out before a retry

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> GraphError | None:
        """The typed error of a failed response, None when it succeeded."""
        if self.ok:
            return None
        error = error_from_body(self.status, self.body if isinstance(self.body, dict) else None,
                                self.headers)
        if self.retry_after is not None:
            error.retry_after = self.retry_after
        return error


@dataclass
class MessagePage:
    """One page of a message list; `count` only when asked for (first page)."""
    messages: list[dict]
    count: int | None
    next_link: str | None


@dataclass
class DeltaPage:
    """One page of a delta round. Persist `delta_link` only after processing the page."""
    messages: list[dict]
    removed: list[dict]
    next_link: str | None
    delta_link: str | None


def _select(fields) -> str:
    return fields if isinstance(fields, str) else ",".join(fields)


_QUERY_SAFE = "$,()'=/:@"


def _query(params: Mapping[str, Any]) -> str:
    """A query string encoded the way Graph documents it (%20 for spaces, $ kept)."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        parts.append(f"{key}={quote(str(value), safe=_QUERY_SAFE)}")
    return "?" + "&".join(parts) if parts else ""


def _odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _iso(value) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"
    return str(value)


def _with_crm(message: dict) -> dict:
    message = dict(message)
    message["crm"] = {"state": props.property_value(message, props.SYNC_STATE),
                      "email_id": props.property_value(message, props.EMAIL_ID)}
    return message


def _contact_with_crm(contact: dict, written: Mapping[str, str | None] | None = None) -> dict:
    """The contact plus "crm": {"contact_id"}. Create/PATCH answers carry no extended
    properties (Graph returns them only when expanded), so what we just wrote counts."""
    contact = dict(contact)
    contact_id = props.property_value(contact, props.CONTACT_ID)
    if contact_id is None and written and props.CONTACT_ID in written:
        contact_id = written[props.CONTACT_ID] or None
    contact["crm"] = {"contact_id": contact_id}
    return contact


def _extended(properties: Mapping[str, str | None]) -> list[dict]:
    # Graph cannot null a single-value property with PATCH; an empty string clears it.
    return [{"id": pid, "value": "" if value is None else str(value)}
            for pid, value in properties.items()]


def _batch_chunks(requests_: Sequence[BatchRequest]) -> list[list[BatchRequest]]:
    """Split into $batch-sized chunks, keeping each dependsOn chain in one chunk."""
    by_id = {r.id: r for r in requests_}
    if len(by_id) != len(requests_):
        raise ValueError("batch request ids must be unique")
    parent = {r.id: r.id for r in requests_}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in requests_:
        for dep in r.depends_on or ():
            if dep not in by_id:
                raise ValueError(f"request {r.id!r} depends on unknown request {dep!r}")
            parent[root(r.id)] = root(dep)
    groups: dict[str, list[BatchRequest]] = {}
    for r in requests_:
        groups.setdefault(root(r.id), []).append(r)
    chunks: list[list[BatchRequest]] = []
    current: list[BatchRequest] = []
    for group in groups.values():
        if len(group) > BATCH_LIMIT:
            raise ValueError(f"a dependsOn chain of {len(group)} requests exceeds {BATCH_LIMIT}")
        if len(current) + len(group) > BATCH_LIMIT:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    return chunks


class GraphClient:
    """One mailbox (`/me`, or `/users/{user}` for app-only work) on Microsoft Graph.

    `token_provider()` returns a bearer token for each request (OBO for delegated,
    client credentials for app-only). Methods raise GraphError subclasses.
    """

    def __init__(self, base_url: str, token_provider: Callable[[], str],
                 session: requests.Session, user: str | None = None,
                 max_wait_s: float = 10.0, timeout=DEFAULT_TIMEOUT, redis_url: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.root = "/me" if user is None else f"/users/{quote(str(user), safe='@')}"
        # Background work on /users/{id} may run in many threads and processes: at most
        # 4 requests to one mailbox at a time, as Outlook allows (across processes when
        # Redis is configured). A lease outlives any one request's timeouts.
        connect, read = parse_timeout(timeout)
        slots = None if user is None else mailbox_slots(
            str(user), redis_url, lease_s=max(DEFAULT_LEASE_S, 2 * (connect + read)))
        self.transport = Transport(session, token_provider, timeout=timeout,
                                   max_wait_s=max_wait_s, slots=slots)

    @classmethod
    def from_config(cls, config: Mapping, token_provider: Callable[[], str],
                    session: requests.Session, user: str | None = None) -> "GraphClient":
        """A client with GRAPH_BASE_URL, GRAPH_TIMEOUT_S, GRAPH_MAX_WAIT_S and REDIS_URL
        (shared mailbox slots) from config."""
        return cls(config.get("GRAPH_BASE_URL") or "https://graph.microsoft.com/v1.0",
                   token_provider, session, user=user,
                   max_wait_s=float(config.get("GRAPH_MAX_WAIT_S") or 10),
                   timeout=config.get("GRAPH_TIMEOUT_S") or DEFAULT_TIMEOUT,
                   redis_url=config.get("REDIS_URL"))

    # -- plumbing -------------------------------------------------------------------

    def _url(self, path_or_link: str) -> str:
        if path_or_link.startswith("/"):
            return self.base_url + path_or_link
        # A nextLink/deltaLink: only ever follow one back to our own Graph endpoint,
        # or the bearer token would go wherever a response pointed.
        base = urlsplit(self.base_url)
        link = urlsplit(path_or_link)
        if (link.scheme, link.netloc) != (base.scheme, base.netloc) or \
                not link.path.startswith(base.path + "/"):
            raise GraphError(502, "UnexpectedLink",
                             "Graph returned a paging link outside its own endpoint")
        return path_or_link

    def _call(self, method: str, path: str, *, json_body=None, prefer=None,
              idempotent: bool | None = None, headers=None) -> Any:
        response = self.transport.request(method, self._url(path), json=json_body,
                                          prefer=prefer, idempotent=idempotent,
                                          headers=headers)
        if response.status_code == 204 or not response.content:
            return None
        return _json(response)

    def _contacts_call(self, method: str, path: str, **kwargs) -> Any:
        """`_call` on the contacts collection, where a 404 means the contact is gone."""
        try:
            return self._call(method, path, **kwargs)
        except NotFound as error:
            raise contact_not_found(error) from error

    def _item(self, collection: str, item_id: str) -> str:
        return f"{self.root}/{collection}/{quote(str(item_id), safe='=')}"

    # -- $batch ---------------------------------------------------------------------

    def batch(self, requests_: Sequence[BatchRequest]) -> list[BatchResponse]:
        """Send requests in `$batch` calls of 20 (dependsOn chains kept together).

        Inner 429/503/504 answers are retried, alone, honouring their Retry-After,
        within each call's wait budget; dependents that failed only because their
        dependency was throttled (424) are retried with it. Returns one response per
        request, in order; a request still failing carries its status (see
        `BatchResponse.error()`). Raises GraphError when a `$batch` call itself fails.
        """
        results: dict[str, BatchResponse] = {}
        for chunk in _batch_chunks(requests_):
            results.update(self._batch_chunk(chunk))
        return [results[r.id] for r in requests_]

    def _batch_payload(self, request: BatchRequest, pending_ids: set[str]) -> dict:
        headers = {}
        prefer = None
        for key, value in (request.headers or {}).items():
            if key.lower() == "prefer":
                prefer = value
            else:
                headers[key] = value
        headers["Prefer"] = merge_prefer(prefer)
        item = {"id": request.id, "method": request.method.upper(), "url": request.url,
                "headers": headers}
        if request.body is not None:
            item["body"] = request.body
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        depends = [d for d in (request.depends_on or ()) if d in pending_ids]
        if depends:
            item["dependsOn"] = depends
        return item

    def _batch_chunk(self, chunk: list[BatchRequest]) -> dict[str, BatchResponse]:
        transport = self.transport
        deadline = transport.deadline()
        idempotent = all(r.method.upper() != "POST" for r in chunk)
        results: dict[str, BatchResponse] = {}
        pending = chunk
        attempt = 0
        while pending:
            pending_ids = {r.id for r in pending}
            body = {"requests": [self._batch_payload(r, pending_ids) for r in pending]}
            answer = _json(transport.request("POST", f"{self.base_url}/$batch", json=body,
                                             idempotent=idempotent, deadline=deadline))
            got = {}
            for item in answer.get("responses") or ():
                got[str(item.get("id"))] = BatchResponse(
                    id=str(item.get("id")), status=int(item.get("status", 500)),
                    headers=item.get("headers") or {}, body=item.get("body"))
            for r in pending:
                got.setdefault(r.id, BatchResponse(r.id, 502, {}, {"error": {
                    "code": "MissingBatchResponse",
                    "message": "Graph's $batch answer had no response for this request"}}))
            results.update(got)
            retry = {r.id for r in pending if got[r.id].status in RETRY_STATUSES}
            grew = True
            while grew:  # dependents that failed because a dependency is being retried
                grew = False
                for r in pending:
                    if r.id not in retry and got[r.id].status == 424 and \
                            retry.intersection(r.depends_on or ()):
                        retry.add(r.id)
                        grew = True
            if not retry:
                break
            waits = [parse_retry_after(_header(got[i].headers, "Retry-After")) for i in retry]
            waits = [w for w in waits if w is not None]
            delay = max(waits) if waits else transport.backoff(attempt)
            if delay > deadline.remaining():
                for i in retry:
                    results[i].retry_after = delay
                break
            transport.sleep(delay)
            attempt += 1
            pending = [r for r in pending if r.id in retry]
        return results

    # -- messages -------------------------------------------------------------------

    def _message_path(self, message_id: str, select, expand_attachments: bool = False) -> str:
        expand = _MESSAGE_PROPS + (_ATTACHMENT_METADATA if expand_attachments else "")
        return self._item("messages", message_id) + _query(
            {"$select": _select(select), "$expand": expand})

    def get_message(self, message_id: str, select=MESSAGE_FIELDS,
                    expand_attachments: bool = False) -> dict:
        """The message with our extended properties, plus
        `"crm": {"state": str|None, "email_id": str|None}`; with `expand_attachments`,
        also attachment metadata (no content) in the same request. Raises NotFound etc."""
        return _with_crm(self._call("GET", self._message_path(message_id, select,
                                                              expand_attachments)))

    def get_messages(self, ids: Iterable[str], select=MESSAGE_FIELDS,
                     expand_attachments: bool = False) -> dict[str, dict | GraphError]:
        """Several messages via `$batch` (20 per call): id -> message dict (as
        `get_message`) or the GraphError for that id."""
        ids = list(dict.fromkeys(ids))
        responses = self.batch([BatchRequest(str(n), "GET",
                                             self._message_path(i, select, expand_attachments))
                                for n, i in enumerate(ids)])
        return {i: (_with_crm(r.body) if r.ok else r.error()) for i, r in zip(ids, responses)}

    def _message_patch(self, categories, properties) -> dict:
        body: dict = {}
        if categories is not None:
            body["categories"] = list(categories)
        if properties:
            body["singleValueExtendedProperties"] = _extended(properties)
        return body

    def update_message(self, message_id: str, categories: Sequence[str] | None = None,
                       properties: Mapping[str, str | None] | None = None) -> None:
        """One PATCH: the full new `categories` list (see `merge_categories`) and/or
        extended properties {property id: value}."""
        body = self._message_patch(categories, properties)
        if body:
            self._call("PATCH", self._item("messages", message_id), json_body=body)

    def update_messages(self, updates: Mapping[str, tuple]) -> dict[str, GraphError | None]:
        """{id: (categories, properties)} as PATCHes in `$batch` calls: id -> None
        (done) or the GraphError for that id."""
        ids = list(updates)
        responses = self.batch([
            BatchRequest(str(n), "PATCH", self._item("messages", i),
                         body=self._message_patch(*updates[i]))
            for n, i in enumerate(ids)])
        return {i: r.error() for i, r in zip(ids, responses)}

    def _folder(self, folder: str | None) -> str:
        if folder is None:
            return self.root
        return f"{self.root}/mailFolders/{quote(str(folder), safe='=')}"

    def _pages(self, url: str, prefer: str) -> Iterator[dict]:
        while url:
            page = self._call("GET", url, prefer=prefer)
            yield page
            url = page.get("@odata.nextLink")

    def list_messages(self, folder: str | None, *, select=MESSAGE_FIELDS, filter: str | None = None,
                      order_by: str | None = None, page_size: int = 50,
                      crm: bool = False) -> Iterator[dict]:
        """Messages of a folder (all mail when folder is None), page by page via
        @odata.nextLink; with `crm=True` each carries our properties and "crm"."""
        path = f"{self._folder(folder)}/messages" + _query({
            "$select": _select(select), "$filter": filter, "$orderby": order_by,
            "$expand": _MESSAGE_PROPS if crm else None})
        for page in self._pages(path, f"odata.maxpagesize={int(page_size)}"):
            for message in page.get("value") or ():
                yield _with_crm(message) if crm else message

    def message_pages(self, folder: str | None, *, select=MESSAGE_FIELDS, filter: str | None = None,
                      order_by: str | None = None, page_size: int = 50, crm: bool = False,
                      expand_attachments: bool = False, count: bool = False) -> Iterator[MessagePage]:
        """`list_messages` a page at a time, for callers that persist where they are
        (bulk sync). With `count`, the first page carries Graph's `@odata.count`."""
        expand = ",".join(filter_ for filter_ in (
            _MESSAGE_PROPS if crm else None,
            _ATTACHMENT_METADATA.lstrip(",") if expand_attachments else None) if filter_) or None
        path = f"{self._folder(folder)}/messages" + _query({
            "$select": _select(select), "$filter": filter, "$orderby": order_by,
            "$expand": expand, "$count": "true" if count else None})
        for page in self._pages(path, f"odata.maxpagesize={int(page_size)}"):
            messages = [_with_crm(m) if crm else m for m in page.get("value") or ()]
            yield MessagePage(messages, page.get("@odata.count"), page.get("@odata.nextLink"))

    def delta(self, folder: str, *, delta_link: str | None = None, select=MESSAGE_FIELDS,
              page_size: int = 50, since=None, crm: bool = False) -> Iterator[DeltaPage]:
        """A delta round over a folder: pages until one carries `delta_link`.

        Starts from `delta_link` when given, else from scratch (received since
        `since` when given); with `crm=True` messages carry our properties and "crm"
        (the links keep the expansion). Raises DeltaExpired when Graph no longer
        knows the token: start again without it.
        """
        if delta_link:
            url = delta_link
        else:
            url = f"{self._folder(folder)}/messages/delta" + _query({
                "$select": _select(select),
                "$expand": _MESSAGE_PROPS if crm else None,
                "$filter": f"receivedDateTime ge {_iso(since)}" if since else None})
        prefer = f"odata.maxpagesize={int(page_size)}"
        while url:
            page = self._call("GET", url, prefer=prefer)
            items = page.get("value") or []
            next_link = page.get("@odata.nextLink")
            yield DeltaPage(messages=[_with_crm(m) if crm else m for m in items if "@removed" not in m],
                            removed=[m for m in items if "@removed" in m],
                            next_link=next_link, delta_link=page.get("@odata.deltaLink"))
            url = next_link

    # -- categories -----------------------------------------------------------------

    def ensure_categories(self) -> None:
        """Create our three master categories where missing (another request creating
        one first is fine)."""
        existing = self._call("GET", f"{self.root}/outlook/masterCategories") or {}
        have = {c.get("displayName", "").casefold() for c in existing.get("value") or ()}
        for name, color in props.CATEGORY_COLORS.items():
            if name.casefold() in have:
                continue
            try:
                self._call("POST", f"{self.root}/outlook/masterCategories",
                           json_body={"displayName": name, "color": color})
            except Conflict:
                pass

    # -- contacts -------------------------------------------------------------------

    def _contacts_by_address_path(self, address: str, select) -> str:
        address = address.strip()
        return f"{self.root}/contacts" + _query({
            "$filter": f"emailAddresses/any(a:a/address eq {_odata_string(address)})",
            "$select": _select(select), "$expand": _CONTACT_PROPS})

    def find_contacts(self, address: str, select=CONTACT_FIELDS) -> list[dict]:
        """Outlook contacts having this email address (each with "crm": {"contact_id"})."""
        page = self._contacts_call("GET", self._contacts_by_address_path(address, select))
        return [_contact_with_crm(c) for c in page.get("value") or ()]

    def find_contacts_many(self, addresses: Iterable[str],
                           select=CONTACT_FIELDS) -> dict[str, list[dict] | GraphError]:
        """`find_contacts` for several addresses in `$batch` calls: address -> contacts
        or the GraphError for that address."""
        addresses = list(dict.fromkeys(addresses))
        responses = self.batch([
            BatchRequest(str(n), "GET", self._contacts_by_address_path(a, select))
            for n, a in enumerate(addresses)])
        return {a: ([_contact_with_crm(c) for c in (r.body or {}).get("value") or ()]
                    if r.ok else contact_not_found(r.error()))
                for a, r in zip(addresses, responses)}

    def get_message_and_contacts(self, message_id: str, addresses: Iterable[str], *,
                                 select=MESSAGE_FIELDS, contact_select=CONTACT_FIELDS,
                                 ) -> tuple[dict, dict[str, list[dict] | GraphError]]:
        """`get_message` and `find_contacts_many` in one `$batch` call, for addresses
        known before the message is read (at most 19: the message takes one of the 20
        places). Raises the message's GraphError when the message itself failed."""
        addresses = list(dict.fromkeys(addresses))
        if len(addresses) > BATCH_LIMIT - 1:
            raise ValueError(f"at most {BATCH_LIMIT - 1} addresses share a $batch with the message")
        responses = self.batch(
            [BatchRequest("message", "GET", self._message_path(message_id, select))]
            + [BatchRequest(str(n), "GET", self._contacts_by_address_path(a, contact_select))
               for n, a in enumerate(addresses)])
        message = responses[0]
        if not message.ok:
            raise message.error()
        found = {a: ([_contact_with_crm(c) for c in (r.body or {}).get("value") or ()]
                     if r.ok else contact_not_found(r.error()))
                 for a, r in zip(addresses, responses[1:])}
        return _with_crm(message.body), found

    def create_contact(self, contact: Mapping, properties: Mapping[str, str | None] | None = None) -> dict:
        """Create an Outlook contact (Graph contact JSON); `properties` e.g.
        {CONTACT_ID: crm id}. Returns the contact with "crm"."""
        body = dict(contact)
        if properties:
            body["singleValueExtendedProperties"] = _extended(properties)
        return _contact_with_crm(self._contacts_call("POST", f"{self.root}/contacts", json_body=body),
                                 properties)

    def get_contact(self, contact_id: str, select=CONTACT_FIELDS) -> dict:
        """The contact with CrmContactId expanded, as "crm": {"contact_id"}."""
        return _contact_with_crm(self._contacts_call("GET", self._item("contacts", contact_id) + _query(
            {"$select": _select(select), "$expand": _CONTACT_PROPS})))

    def update_contact(self, contact_id: str, fields: Mapping,
                       properties: Mapping[str, str | None] | None = None) -> dict:
        """PATCH contact fields and extended properties; returns the updated contact."""
        body = dict(fields)
        if properties:
            body["singleValueExtendedProperties"] = _extended(properties)
        updated = self._contacts_call("PATCH", self._item("contacts", contact_id), json_body=body)
        return _contact_with_crm(updated or {"id": contact_id}, properties)

    def delete_contact(self, contact_id: str) -> None:
        self._contacts_call("DELETE", self._item("contacts", contact_id))

    # -- change notifications --------------------------------------------------------

    def messages_resource(self, folder: str | None = None) -> str:
        """The subscription `resource` for this mailbox's messages (in a folder)."""
        root = self.root.lstrip("/")
        if folder is None:
            return f"{root}/messages"
        return f"{root}/mailFolders({_odata_string(str(folder))})/messages"

    def create_subscription(self, resource: str, *, notification_url: str, client_state: str,
                            expiration, change_type: str = "created,updated",
                            lifecycle_notification_url: str | None = None) -> dict:
        """Subscribe to change notifications; returns Graph's subscription (with "id")."""
        body = {"changeType": change_type, "notificationUrl": notification_url,
                "resource": resource, "expirationDateTime": _iso(expiration),
                "clientState": client_state}
        if lifecycle_notification_url:
            body["lifecycleNotificationUrl"] = lifecycle_notification_url
        return self._call("POST", "/subscriptions", json_body=body)

    def renew_subscription(self, subscription_id: str, expiration) -> dict:
        return self._call("PATCH", f"/subscriptions/{quote(str(subscription_id), safe='')}",
                          json_body={"expirationDateTime": _iso(expiration)})

    def delete_subscription(self, subscription_id: str) -> None:
        """Delete a subscription; one already gone is not an error."""
        try:
            self._call("DELETE", f"/subscriptions/{quote(str(subscription_id), safe='')}")
        except NotFound:
            pass

    # -- ids and the user ----------------------------------------------------------

    def translate_ids(self, ids: Iterable[str], source: str = "restId",
                      target: str = "restImmutableEntryId") -> dict[str, str]:
        """translateExchangeIds, 1000 per call: source id -> target id."""
        ids = list(dict.fromkeys(ids))
        result: dict[str, str] = {}
        for start in range(0, len(ids), TRANSLATE_LIMIT):
            answer = self._call("POST", f"{self.root}/translateExchangeIds", idempotent=True,
                                json_body={"inputIds": ids[start:start + TRANSLATE_LIMIT],
                                           "sourceIdType": source, "targetIdType": target})
            for item in answer.get("value") or ():
                result[item.get("sourceId")] = item.get("targetId")
        return result

    def get_user(self, select=("id", "displayName", "mail", "userPrincipalName")) -> dict:
        """The mailbox owner (for "Test connection"; add "proxyAddresses" to `select`
        for the user's aliases)."""
        return self._call("GET", self.root + _query({"$select": _select(select)}))


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GraphError(502, "InvalidResponse", "Graph answered with a body that is not JSON",
                         request_id=response.headers.get("request-id")) from None


def _header(headers: Mapping | None, name: str):
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


__all__ = ["GraphClient", "BatchRequest", "BatchResponse", "DeltaPage", "MessagePage", "MESSAGE_FIELDS",
           "MESSAGE_FIELDS_WITH_BODY", "CONTACT_FIELDS", "BATCH_LIMIT"]
