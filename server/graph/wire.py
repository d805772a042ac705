"""The HTTP/1.1 client under the Graph transport: `http.client` with a keep-alive pool.

Graph is the backend's one hot HTTP peer (1-2 requests per pane request), and
`requests` spends ~0.7 ms of CPU on each call (preparing and merging settings, hooks,
and urllib3 walking a long `$select` URL byte by byte, twice); a bare `http.client`
exchange costs ~0.2 ms (bench/b1_profile.py shows both). This client does only what
the transport needs:

- one pool of idle connections per (scheme, host, port), at most `pool_size` kept,
  the most recently used taken first; an idle connection the peer closed (readable
  while idle: EOF or stray bytes) is discarded, never used;
- trust exactly as the session's: the `ssl.SSLContext` of server/tls.py's
  TrustingAdapter (certifi plus CA_BUNDLE, CERT_REQUIRED, hostname checked);
- `(connect, read)` timeouts: connect covers TCP connect and the TLS handshake, read
  every socket read after it;
- failures as the exceptions below, so the transport's retry policy can tell a
  request that never left (NotSent: even a POST may be repeated) from one that may
  have reached Graph (Broken, ReadTimeout). Nothing is ever re-sent here.

`Accept-Encoding: identity` (http.client's default): the client decodes nothing, so
a body costs no CPU beyond reading it, and an attachment's Content-Length is the
count of bytes that arrive. Graph's JSON answers are a few KB per request.
"""

from __future__ import annotations

import functools
import http.client
import json as jsonlib
import select
import ssl
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple
from urllib.parse import quote, urlencode, urlsplit

import certifi
import requests
from requests.structures import CaseInsensitiveDict

from server.tls import TrustingAdapter

DEFAULT_POOL_SIZE = 16  # as server/tls.py's http_session
REQUOTE_SAFE = "!#$%&'()*+,/:;=?@[]~"  # requests' requote_uri: reserved characters and %
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # an empty one still says Content-Length: 0


class WireError(OSError):
    """A Graph exchange that failed below HTTP."""


class NotSent(WireError):
    """No connection could be opened (refused, DNS, unreachable): the request never left."""


class ConnectTimeout(NotSent):
    """TCP connect or the TLS handshake took longer than the connect timeout."""


class TlsError(NotSent):
    """The TLS handshake failed: Graph's certificate is not trusted (see CA_BUNDLE)."""


class RequestFailed(NotSent):
    """The request could not be written (an invalid URL or header): not transient."""


class ReadTimeout(WireError):
    """Sent, and no answer (or no next part of the body) within the read timeout."""


class Broken(WireError):
    """Sent (or possibly sent), then the connection dropped, was reset, or the body
    ended short."""


class SentRequest(NamedTuple):
    """What went out (as `requests.Response.request`); http.client adds Host,
    Content-Length and Accept-Encoding to these headers."""

    method: str
    url: str
    headers: dict


class WireResponse:
    """The answer to one request: what the Graph code reads of a `requests.Response`."""

    def __init__(self, client: WireClient, key: tuple, conn: http.client.HTTPConnection, raw, request: SentRequest):
        self._client = client
        self._key = key
        self._conn: http.client.HTTPConnection | None = conn
        self._raw = raw
        self._content: bytes | None = None
        self.request = request
        self.url = request.url
        self.status_code: int = raw.status
        self.reason: str = raw.reason
        headers = CaseInsensitiveDict()
        for name, value in raw.getheaders():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def content(self) -> bytes:
        """The whole body (read once; then the connection goes back to the pool)."""
        if self._content is None:
            if self._conn is None:
                raise RuntimeError("the response's body was already read or closed")
            try:
                self._content = self._raw.read()
            except BaseException as exc:
                self._discard()
                _raise_read_error(exc)
            self._finish()
        return self._content

    @property
    def text(self) -> str:
        charset = self._raw.headers.get_content_charset() or "utf-8"
        return self.content.decode(charset, errors="replace")

    def json(self):
        """The body as JSON; ValueError when it is not."""
        return jsonlib.loads(self.content)

    def iter_content(self, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The body a chunk at a time. Raises ReadTimeout or Broken (a body that ends
        short of its length, a dropped connection) part-way."""
        if self._content is not None:
            yield self._content
            return
        raw = self._raw
        while self._conn is not None:
            try:
                chunk = raw.read(chunk_size)
            except BaseException as exc:
                self._discard()
                _raise_read_error(exc)
            if chunk:
                yield chunk
                continue
            if raw.length:  # http.client ends a short Content-Length body quietly
                self._discard()
                raise Broken(f"the body ended {raw.length} bytes short")
            self._finish()

    def close(self) -> None:
        """Frees the connection: back to the pool when the body was read to its end,
        closed otherwise (what is left of the body would be read as the next answer)."""
        if self._conn is not None:
            self._discard()

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._client._release(self._key, conn, self._raw)

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _raise_read_error(exc: BaseException):
    """Raises what a failure after the request (possibly) left means: ReadTimeout,
    Broken, or `exc` itself when it is no network failure."""
    if isinstance(exc, WireError):
        raise exc
    if isinstance(exc, TimeoutError):
        raise ReadTimeout(str(exc) or "read timed out") from exc
    if isinstance(exc, (OSError, http.client.HTTPException)):
        raise Broken(f"{type(exc).__name__}: {exc}") from exc
    raise exc


@functools.lru_cache(maxsize=64)
def _origin(scheme: str, netloc: str) -> tuple[str, str, int]:
    if scheme not in ("http", "https"):
        raise RequestFailed(f"unsupported URL scheme {scheme!r}")
    parts = urlsplit(f"{scheme}://{netloc}")
    if not parts.hostname or parts.username is not None:
        raise RequestFailed("the URL names no host (or carries credentials)")
    return scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80)


def split_url(url: str) -> tuple[tuple[str, str, int], str]:
    """((scheme, host, port), path and query) without re-parsing the query: a Graph URL
    carries a few hundred characters of `$select`, already percent-encoded."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise RequestFailed("not an absolute URL")
    end = len(rest)
    for mark in "/?#":
        at = rest.find(mark)
        if 0 <= at < end:
            end = at
    target = rest[end:].split("#", 1)[0]
    if not target.startswith("/"):
        target = "/" + target
    if not target.isascii() or " " in target:  # as requests did: percent-encode, keep what is
        target = quote(target, safe=REQUOTE_SAFE)
    return _origin(scheme.lower(), rest[:end]), target


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection is closed (or holds bytes nobody asked for)."""
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class WireClient:
    """Thread-safe HTTP/1.1 client with keep-alive pools; see the module docstring."""

    def __init__(self, ssl_context: ssl.SSLContext, pool_size: int = DEFAULT_POOL_SIZE, user_agent: str | None = None):
        if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
            raise ValueError("Graph's TLS context must verify certificates and host names")
        self.ssl_context = ssl_context
        self.pool_size = pool_size
        self.user_agent = user_agent
        self._idle: dict[tuple, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self.connections_opened = 0  # for tests and observability
        self.hooks: list[Callable[[WireResponse], None]] = []  # each called with every response

    def request(
        self,
        method: str,
        url: str,
        *,
        params=None,
        json=None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] = (3.05, 15.0),
        stream: bool = False,
    ) -> WireResponse:
        """Send one request, return the answer (any status). With `stream`, the body is
        the caller's to read (`iter_content`) and `close()`; else it is read here."""
        key, target = split_url(url)
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params, doseq=True)
        sent_headers = dict(headers or {})
        body = data
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":"), allow_nan=False).encode()
            if not any(name.lower() == "content-type" for name in sent_headers):
                sent_headers["Content-Type"] = "application/json"
        if self.user_agent and not any(name.lower() == "user-agent" for name in sent_headers):
            sent_headers["User-Agent"] = self.user_agent
        connect, read = timeout
        conn = self._take(key) or self._open(key, connect)
        try:
            conn.sock.settimeout(read)
            conn.putrequest(method, target)  # adds Host and Accept-Encoding: identity
            for name, value in sent_headers.items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            elif method in BODY_METHODS:
                conn.putheader("Content-Length", "0")
        except (ValueError, TypeError, http.client.HTTPException) as exc:
            conn.close()
            raise RequestFailed(f"{type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            conn.close()
            raise Broken(f"{type(exc).__name__}: {exc}") from exc
        try:
            conn.endheaders(body)
            raw = conn.getresponse()
        except BaseException as exc:
            conn.close()
            _raise_read_error(exc)
        response = WireResponse(self, key, conn, raw, SentRequest(method, url, sent_headers))
        if not stream:
            response.content  # noqa: B018 - read now, the connection goes back to the pool
        for hook in self.hooks:
            hook(response)
        return response

    def _take(self, key: tuple) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None or not _dropped(conn):
                return conn
            conn.close()

    def _open(self, key: tuple, connect_timeout: float) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()  # TCP and, for https, the TLS handshake: all within connect_timeout
        except ssl.SSLError as exc:  # certificate not trusted, wrong host, handshake refused
            conn.close()
            raise TlsError(f"{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            conn.close()
            raise ConnectTimeout(f"no connection to {host}:{port} within {connect_timeout:g} s") from exc
        except OSError as exc:
            conn.close()
            raise NotSent(f"{type(exc).__name__}: {exc}") from exc
        with self._lock:
            self.connections_opened += 1
        return conn

    def _release(self, key: tuple, conn: http.client.HTTPConnection, raw) -> None:
        """Back to the pool after a body read to its end, unless the peer closes it
        (`Connection: close`, HTTP/1.0) or the pool is full."""
        if raw.will_close or conn.sock is None:
            conn.close()
            return
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.pool_size:
                idle.append(conn)
                return
        conn.close()

    def idle_count(self, url: str) -> int:
        """Idle connections pooled for `url`'s origin."""
        with self._lock:
            return len(self._idle.get(split_url(url)[0], ()))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_clients_lock = threading.Lock()


def wire_for(session: requests.Session) -> WireClient:
    """The wire client that trusts what `session` trusts, one per session: the
    TrustingAdapter's context when the session's https adapter is one (http_session),
    else a context loaded from `session.verify` (True: certifi's CAs; a path: that
    bundle). A session that verifies nothing is refused: Graph always gets verified."""
    with _clients_lock:
        client = _clients.get(session)
        if client is None:
            adapter = session.get_adapter("https://graph.microsoft.com/")
            pool_size = getattr(adapter, "_pool_maxsize", DEFAULT_POOL_SIZE)  # http_session(pool_size=)
            client = WireClient(_context_of(session), pool_size, user_agent=session.headers.get("User-Agent"))
            _clients[session] = client
        return client


def _context_of(session: requests.Session) -> ssl.SSLContext:
    verify = session.verify
    adapter = session.get_adapter("https://graph.microsoft.com/")
    if isinstance(adapter, TrustingAdapter) and adapter.trusted == verify:
        return adapter.ssl_context
    if verify is True:
        return ssl.create_default_context(cafile=certifi.where())
    if isinstance(verify, str) and verify:
        return ssl.create_default_context(cafile=verify)
    raise ValueError("Graph's requests must verify TLS certificates (the session has verify=False)")
