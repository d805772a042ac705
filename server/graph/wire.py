"""The HTTP/1.1 client under the Graph transport: sockets from `http.client`, a keep-alive pool.

Graph is the backend's one hot HTTP peer (1-2 requests per pane request), and
`requests` spends ~0.7 ms of CPU on each call (preparing and merging settings, hooks,
and urllib3 walking a long `$select` URL byte by byte, twice); a bare `http.client`
exchange costs ~0.2 ms (bench/b1_profile.py shows both), half of it http.client's own
header work (a regex per request header, `email.parser` for the answer's). This client
does only what the transport needs:

- one pool of idle connections per (scheme, host, port), at most `pool_size` kept,
  the most recently used taken first; an idle connection the peer closed (readable
  while idle: EOF or stray bytes) is discarded, never used;
- trust exactly as the session's: the `ssl.SSLContext` of server/tls.py's
  TrustingAdapter (certifi plus CA_BUNDLE, CERT_REQUIRED, hostname checked);
- `(connect, read)` timeouts: connect covers TCP connect and the TLS handshake, read
  every socket read after it;
- http.client opens the connections (TCP_NODELAY, SNI, the context's checks); then
  http11.py writes each request head in one buffer and reads the answer straight from
  the socket;
- failures as the exceptions below, so the transport's retry policy can tell a
  request that never left (NotSent: even a POST may be repeated) from one that may
  have reached Graph (Broken, ReadTimeout). Nothing is ever re-sent here.

`Accept-Encoding: identity` (as http.client sends by default): the client decodes nothing, so
a body costs no CPU beyond reading it, and an attachment's Content-Length is the
count of bytes that arrive. Graph's JSON answers are a few KB per request.
"""

from __future__ import annotations

import codecs
import functools
import http.client
import json as jsonlib
import select
import socket
import ssl
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple
from urllib.parse import quote, urlencode, urlsplit

import certifi
import requests

from server.tls import TrustingAdapter

from .http11 import Answer, Headers, host_field, request_head

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
    """What went out (as `requests.Response.request`); the head adds Host,
    Content-Length and Accept-Encoding to these headers."""

    method: str
    url: str
    headers: dict


class WireResponse:
    """The answer to one request: what the Graph code reads of a `requests.Response`."""

    def __init__(self, client: WireClient, key: tuple, conn: _Connection, raw: Answer, request: SentRequest):
        self._client = client
        self._key = key
        self._conn: _Connection | None = conn
        self._raw = raw
        self._content: bytes | None = None
        self.request = request
        self.url = request.url
        self.status_code: int = raw.status
        self.reason: str = raw.reason
        self.headers: Headers = raw.headers  # case-insensitive; a repeated field's values joined with ", "

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
        return self.content.decode(_charset(self.headers.get("Content-Type")), errors="replace")

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


def _charset(content_type: str | None) -> str:
    """The charset parameter of a Content-Type, utf-8 when it names none (or one
    Python does not know)."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"


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


def _host_field(key: tuple[str, str, int]) -> str:
    scheme, host, port = key
    return host_field(host, port, 443 if scheme == "https" else 80)


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


class _Connection:
    """One open connection: its socket, a poller watching it while idle, and the read
    timeout last set on it."""

    __slots__ = ("sock", "poller", "timeout")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)
        self.timeout = sock.gettimeout()

    def dropped(self) -> bool:
        """True when the idle connection is closed (or holds bytes nobody asked for):
        readable while no request is out means EOF, a reset or garbage."""
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        try:
            return bool(self.poller.poll(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        self.sock.close()


class WireClient:
    """Thread-safe HTTP/1.1 client with keep-alive pools; see the module docstring."""

    def __init__(self, ssl_context: ssl.SSLContext, pool_size: int = DEFAULT_POOL_SIZE, user_agent: str | None = None):
        if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
            raise ValueError("Graph's TLS context must verify certificates and host names")
        self.ssl_context = ssl_context
        self.pool_size = pool_size
        self.user_agent = user_agent
        self._idle: dict[tuple, list[_Connection]] = {}
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
        sent_headers = dict(headers) if headers else {}
        body = data
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":"), allow_nan=False).encode()
            if not any(name.lower() == "content-type" for name in sent_headers):
                sent_headers["Content-Type"] = "application/json"
        if self.user_agent and not any(name.lower() == "user-agent" for name in sent_headers):
            sent_headers["User-Agent"] = self.user_agent
        length = len(body) if body is not None else 0 if method in BODY_METHODS else None
        try:
            head = request_head(method, target, _host_field(key), sent_headers, length)
        except (ValueError, TypeError) as exc:  # nothing was sent
            raise RequestFailed(f"{type(exc).__name__}: {exc}") from exc
        connect, read = timeout
        conn = self._take(key) or self._open(key, connect)
        try:
            if conn.timeout != read:
                conn.sock.settimeout(read)
                conn.timeout = read
            conn.sock.sendall(head + body if body else head)
            raw = Answer(conn.sock, method)
        except BaseException as exc:
            conn.close()
            _raise_read_error(exc)
        response = WireResponse(self, key, conn, raw, SentRequest(method, url, sent_headers))
        if not stream:
            response.content  # noqa: B018 - read now, the connection goes back to the pool
        for hook in self.hooks:
            hook(response)
        return response

    def _take(self, key: tuple) -> _Connection | None:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None or not conn.dropped():
                return conn
            conn.close()

    def _open(self, key: tuple, connect_timeout: float) -> _Connection:
        """A new connection (http.client's connect: TCP_NODELAY, SNI and the context's
        certificate and host name checks), its socket then used directly."""
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
        return _Connection(conn.sock)

    def _release(self, key: tuple, conn: _Connection, raw: Answer) -> None:
        """Back to the pool after a body read to its end, unless the peer closes it
        (`Connection: close`, HTTP/1.0), bytes followed the body, or the pool is full."""
        if not raw.reusable:
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
