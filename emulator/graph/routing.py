"""A small router for Graph paths, shared by plain requests and `$batch` inner requests.

Graph's URL segments are case-insensitive (`/me/mailfolders/inbox` and
`/me/mailFolders('Inbox')` are the same) and `$batch` replays requests without
an HTTP round trip, so handlers take a `GraphRequest` and return a
`GraphResponse` rather than using Flask's request globals.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from werkzeug.datastructures import Headers, MultiDict

from emulator.graph.errors import GraphError, bad_request, error_body
from emulator.odata import ODataError
from emulator.store.errors import StoreError

log = logging.getLogger(__name__)

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

# Path templates: {USER} is /me or /users/{id|upn} (also users('...')); {FOLDER} a mail folder.
USER = r"/(?:me|users/(?P<user>[^/()]+)|users\('(?P<user_q>[^']+)'\))"
FOLDER = r"/mailfolders(?:/(?P<folder>[^/()]+)|\('(?P<folder_q>[^']+)'\))"
ITEM = r"(?:/(?P<id>[^/()]+)|\('(?P<id_q>[^']+)'\))"

_ROUTES: list[tuple[set[str], re.Pattern, object]] = []


@dataclass
class GraphRequest:
    method: str
    path: str  # below /v1.0, decoded, starting with "/"
    args: MultiDict
    headers: Headers
    body: bytes
    state: object  # emulator.app.EmulatorState
    in_batch: bool = False
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_request_id: str = ""
    caller: object = None  # set by access.authenticate
    base_url: str = ""  # scheme://host[:port] the client called; links point back there
    applied: list = field(default_factory=list)  # for the Preference-Applied header
    _json: object = None

    def __post_init__(self):
        if not self.client_request_id:
            self.client_request_id = self.headers.get("client-request-id") or self.request_id

    @property
    def store(self):
        return self.state.store

    def json(self):
        """The request body as a JSON object; GraphError(400) when it is not one."""
        if self._json is None:
            if not self.body or not self.body.strip():
                raise bad_request("Empty Payload. JSON content expected.")
            try:
                self._json = json.loads(self.body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise bad_request(
                    "Unable to read JSON request payload. Please ensure Content-Type "
                    "header is set and payload is of valid JSON format."
                ) from None
            if not isinstance(self._json, dict):
                raise bad_request("Invalid request body: a JSON object is expected.")
        return self._json

    def prefer(self) -> dict[str, str]:
        """The Prefer header's preferences, lower-case names, unquoted values."""
        prefs = {}
        for header in self.headers.getlist("Prefer"):
            for part in _split_prefer(header):
                name, _, value = part.partition("=")
                prefs[name.strip().lower()] = value.strip().strip('"')
        return prefs

    def wants_immutable_ids(self) -> bool:
        return self.prefer().get("idtype", "").lower() == "immutableid"

    def max_page_size(self) -> int | None:
        value = self.prefer().get("odata.maxpagesize")
        if value and value.isdigit() and int(value) > 0:
            if f"odata.maxpagesize={int(value)}" not in self.applied:
                self.applied.append(f"odata.maxpagesize={int(value)}")
            return int(value)
        return None

    def preference_applied(self) -> str | None:
        prefs = (['IdType="ImmutableId"'] if self.wants_immutable_ids() else []) + self.applied
        return ", ".join(prefs) or None

    def link(self, path: str, params: dict | list | None = None) -> str:
        """An absolute Graph URL (for @odata.nextLink and friends)."""
        url = f"{self.base_url or self.state.base_url}/v1.0{path}"
        if params:
            url += "?" + urlencode(params, safe="$'(),:", quote_via=quote)
        return url

    def context(self, fragment: str) -> str:
        return f"{self.base_url or self.state.base_url}/v1.0/$metadata#{fragment}"


def _split_prefer(header: str) -> list[str]:
    parts, buf, quoted = [], "", False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        if ch in ",;" and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


@dataclass
class Stream:
    """A raw body answered a chunk at a time (an attachment's `$value`), never held whole."""

    chunks: Iterator[bytes]
    length: int
    media_type: str


@dataclass
class GraphResponse:
    status: int
    body: object = None  # dict (JSON), str (text), Stream (raw bytes) or None
    headers: dict = field(default_factory=dict)


def ok(body, status: int = 200, headers: dict | None = None) -> GraphResponse:
    return GraphResponse(status, body, headers or {})


def route(methods: str, *patterns: str, first: bool = False):
    """Register a handler for one or more path patterns (case-insensitive regex,
    with {USER}, {FOLDER} and {ITEM} placeholders). `first` routes are tried
    before the others (".../messages/delta" before ".../messages/{id}")."""

    def register(fn):
        for pattern in patterns:
            regex = pattern.replace("{USER}", USER).replace("{FOLDER}", FOLDER).replace("{ITEM}", ITEM)
            entry = (set(methods.split()), re.compile(regex + r"/?", re.IGNORECASE), fn)
            if first:
                _ROUTES.insert(0, entry)
            else:
                _ROUTES.append(entry)
        return fn

    return register


def dispatch(req: GraphRequest) -> GraphResponse:
    """Run the handler for `req`; GraphError propagates to the caller."""
    allowed = False
    for methods, regex, fn in _ROUTES:
        m = regex.fullmatch(req.path)
        if not m:
            continue
        if req.method.upper() not in methods:
            allowed = True
            continue
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        for quoted in ("user", "folder", "id"):
            if f"{quoted}_q" in groups:
                groups[quoted] = groups.pop(f"{quoted}_q")
        return fn(req, **groups)
    if allowed:
        raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")
    segment = req.path.rstrip("/").rsplit("/", 1)[-1] or req.path
    raise bad_request(f"Resource not found for the segment '{segment}'.")


def run(req: GraphRequest) -> GraphResponse:
    """Dispatch `req` and turn every failure into Graph's error answer (never a traceback)."""
    try:
        return dispatch(req)
    except GraphError as e:
        resp = GraphResponse(
            e.status, error_body(e.code, e.message, req.request_id, req.client_request_id), dict(e.headers)
        )
    except ODataError as e:
        resp = GraphResponse(400, error_body(e.code, e.message, req.request_id, req.client_request_id))
    except StoreError as e:
        resp = GraphResponse(e.status, error_body(e.code, e.message, req.request_id, req.client_request_id))
    except Exception:
        log.exception("Graph handler failed: %s %s", req.method, req.path)
        resp = GraphResponse(
            500,
            error_body(
                "generalException", "General exception while processing.", req.request_id, req.client_request_id
            ),
        )
    return resp
