"""HTTP/1.1 message heads for wire.py: the request head written in one buffer, the
answer's status line and header fields read without http.client's email parser.

`http.client` validates each request header with a regex as it writes it, and parses
every answer's header block through `email.parser` (~0.1 ms of CPU for Graph's ten or
so fields, more than the rest of the exchange's own work). Here:

- `request_head` writes the request line and fields at once, refusing what could
  split or smuggle a line: a method or field name that is not an HTTP token, a target
  with a control character or space, any CR or LF in a value;
- `read_head` reads the status line and the fields into `Headers` (case-insensitive;
  a repeated field's values joined with ", "; an obsolete folded line joined to its
  field with one space, as RFC 9112 section 5.2 asks of a user agent), and refuses,
  as http.client's exceptions (the wire maps them to Broken), an answer that is not
  HTTP/1.x, a line over 64 KiB, more than 100 fields, a field line without a name,
  or a head that ends before its blank line;
- `Response` is http.client's response with that head: its body (Content-Length,
  chunked, or to the connection's close) is read by http.client as before.
"""

from __future__ import annotations

import functools
import http.client
import re
from collections.abc import Iterator, Mapping

MAX_LINE = 65536  # as http.client: one status or field line
MAX_HEADERS = 100  # as http.client: field lines in one head
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+").fullmatch  # RFC 9110 5.6.2
_BAD_TARGET = re.compile("[\x00-\x20\x7f]").search  # as http.client's URL check
_NAMES: dict[str, str] = {}  # field names seen in answers: name -> lower case
_KNOWN_NAMES = 512  # bound of that cache (Graph sends a few dozen names in all)
_SENT_NAMES: set[str] = set()  # request field names already found to be tokens


class MalformedHead(http.client.HTTPException):
    """An answer's head that is not HTTP: a field line without a name, an invalid
    Content-Length or Transfer-Encoding, a head cut short."""


class Headers(Mapping[str, str]):
    """An answer's header fields: read-only, looked up by any case of the name."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, str] | None = None):
        self._fields: dict[str, tuple[str, str]] = {}  # lower-case name -> (name, value)
        for name, value in (fields or {}).items():
            self._fields[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()][1]

    def get(self, name: str, default=None):
        field = self._fields.get(name.lower())
        return default if field is None else field[1]

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@functools.lru_cache(maxsize=64)
def host_field(host: str, port: int, default_port: int) -> str:
    """The Host field's value for an origin, as http.client writes it."""
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    if ":" in host:  # an IPv6 address, bracketed, without a zone
        host = "[" + host.split("%", 1)[0] + "]"
    return host if port == default_port else f"{host}:{port}"


def request_head(method: str, target: str, host: str, headers: Mapping[str, str], length: int | None) -> bytes:
    """The request line, Host, `Accept-Encoding: identity`, `headers` in their order and
    Content-Length (when `length` is not None), ending in the blank line. Raises
    ValueError for anything that is not a valid HTTP/1.1 head (see the module docstring)."""
    if not _TOKEN(method):
        raise ValueError(f"invalid method {method!r}")
    if _BAD_TARGET(target) or not target.isascii():
        raise ValueError(f"invalid request target {target!r}")
    lines = [f"{method} {target} HTTP/1.1", "Host: " + host, "Accept-Encoding: identity"]
    for name, value in headers.items():
        if name not in _SENT_NAMES:
            if not isinstance(name, str) or not _TOKEN(name):
                raise ValueError(f"invalid header name {name!r}")
            if len(_SENT_NAMES) < _KNOWN_NAMES:
                _SENT_NAMES.add(name)
        if not isinstance(value, str):
            if not isinstance(value, int):
                raise TypeError(f"header {name} must be a string, not {type(value).__name__}")
            value = str(value)
        if "\r" in value or "\n" in value:
            raise ValueError(f"invalid value for header {name}")
        lines.append(f"{name}: {value}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")  # a value outside Latin-1: UnicodeEncodeError


def _status_line(fp) -> tuple[int, int, str]:
    line = fp.readline(MAX_LINE + 1)
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("status line")
    text = line.decode("iso-8859-1")
    parts = text.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not line.endswith(b"\n"):
        raise http.client.BadStatusLine(text)
    version, status = parts[0], parts[1]
    if len(status) != 3 or not status.isascii() or not status.isdigit() or status[0] == "0":
        raise http.client.BadStatusLine(text)
    if version in ("HTTP/1.0", "HTTP/0.9"):
        number = 10
    elif version.startswith("HTTP/1."):
        number = 11
    else:
        raise http.client.UnknownProtocol(version)
    return number, int(status), parts[2].strip() if len(parts) == 3 else ""


def _field_lines(fp) -> Headers:
    fields: dict[str, tuple[str, str]] = {}
    last = None
    for _ in range(MAX_HEADERS + 1):
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line == b"\r\n" or line == b"\n":
            headers = Headers()
            headers._fields = fields
            return headers
        if not line.endswith(b"\n"):
            raise MalformedHead("the answer's head ended before its blank line")
        text = line.decode("iso-8859-1")
        if text[0] in " \t":  # obsolete line folding: more of the last field's value
            if last is None:
                raise MalformedHead("the answer's head starts with a folded line")
            name, value = fields[last]
            fields[last] = (name, f"{value} {text.strip()}".strip())
            continue
        name, colon, value = text.partition(":")
        lower = _NAMES.get(name)
        if lower is None:
            if not colon or not _TOKEN(name):
                raise MalformedHead(f"not a header field line: {text.strip()[:80]!r}")
            lower = name.lower()
            if len(_NAMES) < _KNOWN_NAMES:
                _NAMES[name] = lower
        value = value.strip()
        known = fields.get(lower)
        fields[lower] = (name, value) if known is None else (known[0], f"{known[1]}, {value}")
        last = lower
    raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")


def read_head(fp) -> tuple[int, int, str, Headers]:
    """(version 10 or 11, status, reason, fields) of the next final answer on `fp`
    (informational 1xx answers are skipped). Raises http.client's HTTPException
    family (MalformedHead among them), or what reading the socket raises."""
    while True:
        version, status, reason = _status_line(fp)
        headers = _field_lines(fp)
        if status >= 200:
            return version, status, reason, headers


def _content_length(value: str) -> int:
    """Content-Length's value; repeated fields (joined with ", ") must agree."""
    values = {part.strip() for part in value.split(",")}
    if len(values) != 1:
        raise MalformedHead(f"conflicting Content-Length {value!r}")
    (number,) = values
    if not number.isascii() or not number.isdigit():
        raise MalformedHead(f"invalid Content-Length {value!r}")
    return int(number)


class Response(http.client.HTTPResponse):
    """http.client's response to one request, its head read by `read_head`."""

    def begin(self) -> None:
        if self.headers is not None:
            return
        self.version, status, self.reason, headers = read_head(self.fp)
        self.code = self.status = status
        self.headers = self.msg = headers
        coding = headers.get("transfer-encoding")
        if coding is not None and coding.lower() != "chunked":
            raise MalformedHead(f"unsupported Transfer-Encoding {coding!r}")  # we ask for none
        self.chunked = coding is not None
        self.chunk_left = None
        self.will_close = self._check_close()  # Connection: close, or HTTP/1.0 without keep-alive
        length = headers.get("content-length")
        self.length = None if self.chunked or length is None else _content_length(length)
        if status in (204, 304) or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body runs to the connection's close

    def getheader(self, name, default=None):
        return self.headers.get(name, default)

    def getheaders(self):
        return list(self.headers.items())
