"""HTTP/1.1 on the wire for wire.py: the request head written in one buffer, the
answer read straight from the socket without http.client's per-header work.

`http.client` validates each request header with a regex as it writes it, parses every
answer's header block through `email.parser` (~0.1 ms of CPU for Graph's ten or so
fields, more than the rest of the exchange's own work), and reads through a new
buffered file and response object per answer. Here:

- `request_head` writes the request line and fields at once, refusing what could
  split or smuggle a line: a method or field name that is not an HTTP token, a target
  with a control character or space, any CR or LF in a value;
- `Answer` reads the head (status line and fields into `Headers`: case-insensitive; a
  repeated field's values joined with ", "; an obsolete folded line joined to its field
  with one space, as RFC 9112 section 5.2 asks of a user agent; informational 1xx
  answers skipped), then the body on demand: Content-Length, chunked, or up to the
  connection's close. It refuses, as http.client's exceptions (wire.py maps them to
  Broken), an answer that is not HTTP/1.x, a head over 64 KiB or of more than 100
  fields, a field line without a name, conflicting lengths, a transfer coding other than
  chunked (none is asked for), and a head or body that ends short.
"""

from __future__ import annotations

import functools
import http.client
import re
import socket
from collections.abc import Iterator, Mapping

MAX_LINE = 65536  # a chunk-size line
MAX_HEADERS = 100  # as http.client: field lines in one head
MAX_HEAD = 65536  # the whole head of an answer
RECV_SIZE = 65536  # one read from the socket (TLS hands over at most a 16 KiB record)
MAX_RECV = 262144  # the most asked of one read when more is due
_HEAD_END = re.compile(rb"\r?\n\r?\n").search  # the blank line after the fields
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}").fullmatch
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


def _status_line(line: str) -> tuple[int, int, str]:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise http.client.BadStatusLine(line)
    version, status = parts[0], parts[1]
    if len(status) != 3 or not status.isascii() or not status.isdigit() or status[0] == "0":
        raise http.client.BadStatusLine(line)
    if version in ("HTTP/1.0", "HTTP/0.9"):
        number = 10
    elif version.startswith("HTTP/1."):
        number = 11
    else:
        raise http.client.UnknownProtocol(version)
    return number, int(status), parts[2].strip() if len(parts) == 3 else ""


def parse_head(block: bytes) -> tuple[int, int, str, Headers]:
    """(version 10 or 11, status, reason, fields) of an answer's head: its bytes up to,
    without, the blank line. Raises http.client's HTTPException family."""
    lines = block.decode("iso-8859-1").split("\n")
    if len(lines) > MAX_HEADERS + 1:
        raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
    version, status, reason = _status_line(lines[0])
    fields: dict[str, tuple[str, str]] = {}
    last = None
    for line in lines[1:]:
        if line[0] in " \t":  # obsolete line folding: more of the last field's value
            if last is None:
                raise MalformedHead("the answer's head starts with a folded line")
            name, value = fields[last]
            fields[last] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        lower = _NAMES.get(name)
        if lower is None:
            if not colon or not _TOKEN(name):
                raise MalformedHead(f"not a header field line: {line.strip()[:80]!r}")
            lower = name.lower()
            if len(_NAMES) < _KNOWN_NAMES:
                _NAMES[name] = lower
        value = value.strip()
        known = fields.get(lower)
        fields[lower] = (name, value) if known is None else (known[0], f"{known[1]}, {value}")
        last = lower
    headers = Headers()
    headers._fields = fields
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


class Answer:
    """One answer read from a socket: its head at once (1xx answers skipped), its body
    by `read`: Content-Length, chunked, or up to the connection's close. A body that
    ends short raises IncompleteRead. `reusable` once the body was read to its end, the
    peer keeps the connection, and nothing followed the body."""

    def __init__(self, sock: socket.socket, method: str):
        self._sock = sock
        self._error: Exception | None = None
        buf = b""
        while True:
            end = _HEAD_END(buf, 0, MAX_HEAD + 4)
            if end is None:
                if len(buf) > MAX_HEAD:
                    raise http.client.LineTooLong("header block")
                data = sock.recv(RECV_SIZE)
                if not data:
                    if buf:
                        raise MalformedHead("the answer's head ended before its blank line")
                    raise http.client.RemoteDisconnected("Remote end closed connection without response")
                buf += data
                continue
            self.version, self.status, self.reason, self.headers = parse_head(buf[: end.start()])
            buf = buf[end.end() :]
            if self.status >= 200:
                break
        self._buf = buf
        headers = self.headers
        coding = headers.get("transfer-encoding")
        if coding is not None and coding.lower() != "chunked":
            raise MalformedHead(f"unsupported Transfer-Encoding {coding!r}")  # we ask for none
        self.chunked = coding is not None
        self._chunk_left = 0
        connection = (headers.get("connection") or "").lower()
        if self.version == 11:
            self.will_close = "close" in connection
        else:  # HTTP/1.0 keeps a connection only when it says so
            self.will_close = "keep-alive" not in connection and "keep-alive" not in headers
        length = headers.get("content-length")
        self.length = None if self.chunked or length is None else _content_length(length)
        if self.status in (204, 304) or method == "HEAD":
            self.chunked, self.length = False, 0
        if not self.chunked and self.length is None:
            self.will_close = True  # the body runs to the connection's close
        self.done = self.length == 0

    @property
    def reusable(self) -> bool:
        return self.done and not self.will_close and not self._buf

    def read(self, amt: int | None = None) -> bytes:
        """Up to `amt` bytes of the body (all of it when None); b"" once it has ended."""
        if self._error is not None:
            raise self._error
        if self.done:
            return b""
        if amt is None and self.length is not None:
            return self._read_length()
        parts: list[bytes] = []
        have = 0
        while not self.done and (amt is None or have < amt):
            try:
                part = self._read_some(RECV_SIZE if amt is None else amt - have)
            except (OSError, http.client.HTTPException) as exc:
                if amt is None or not parts:
                    raise
                self._error = exc  # raised by the next read: first the bytes that came
                break
            parts.append(part)
            have += len(part)
        return b"".join(parts)

    def _read_length(self) -> bytes:
        need, buf = self.length, self._buf
        if len(buf) < need:
            parts, have = [buf], len(buf)
            while have < need:
                data = self._sock.recv(min(need - have, MAX_RECV))
                if not data:
                    raise http.client.IncompleteRead(b"".join(parts), need - have)
                parts.append(data)
                have += len(data)
            buf = b"".join(parts)
        self._buf = buf[need:]
        self.length, self.done = 0, True
        return buf[:need]

    def _recv(self, limit: int) -> bytes:
        """The next bytes: what is buffered first, else one read from the socket."""
        buf = self._buf
        if buf:
            self._buf = buf[limit:]
            return buf[:limit]
        return self._sock.recv(min(limit, MAX_RECV))

    def _line(self) -> bytes:
        """The next line of a chunked body, without its line end."""
        buf = self._buf
        while (end := buf.find(b"\n")) < 0:
            if len(buf) > MAX_LINE:
                raise http.client.LineTooLong("chunk size")
            data = self._sock.recv(RECV_SIZE)
            if not data:
                raise http.client.IncompleteRead(b"")
            buf += data
        self._buf = buf[end + 1 :]
        return buf[:end].rstrip(b"\r")

    def _read_some(self, limit: int) -> bytes:
        """At least one byte of the body, or b"" when it ended here."""
        if self.chunked:
            if not self._chunk_left:
                size = self._line().split(b";", 1)[0].strip()
                if not _HEX(size):
                    raise MalformedHead(f"invalid chunk size {size[:20]!r}")
                self._chunk_left = int(size, 16)
                if not self._chunk_left:
                    while self._line():  # the trailer's fields, up to the blank line
                        pass
                    self.done = True
                    return b""
            data = self._recv(min(limit, self._chunk_left))
            if not data:
                raise http.client.IncompleteRead(b"", self._chunk_left)
            self._chunk_left -= len(data)
            if not self._chunk_left and self._line():
                raise MalformedHead("a chunk longer than its size")
            return data
        if self.length is None:  # to the close
            data = self._recv(limit)
            self.done = not data
            return data
        data = self._recv(min(limit, self.length))
        if not data:
            raise http.client.IncompleteRead(b"", self.length)
        self.length -= len(data)
        self.done = not self.length
        return data
