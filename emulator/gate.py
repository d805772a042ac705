"""WSGI middleware in front of Graph and the token endpoint: limits, faults, request log.

It sits outside Flask because a "drop" fault must close the TCP connection
without writing any response, and because the concurrency slot has to cover
the whole request, body included. `/_emulator/*` and the Outlook-like page pass
straight through, unlogged.
"""

import errno
import json
import re
import socket
import time
from urllib.parse import unquote_plus

from emulator import tokens
from emulator.faults import Fault, graph_error_body

MAX_BODY_BYTES = 4 * 1024 * 1024  # Graph refuses request bodies over 4 MB
_TOKEN_PATH = re.compile(r"^/[^/]+/oauth2/(v2\.0/)?token/?$")
_USERS_SEGMENT = re.compile(r"^/v1\.0/users(?:/([^/]+)|\('([^']+)'\))")


def is_graph_path(path: str) -> bool:
    return path == "/v1.0" or path.startswith("/v1.0/")


def is_token_path(path: str) -> bool:
    return bool(_TOKEN_PATH.match(path))


class Gate:
    """Wraps the Flask WSGI app; see the module docstring."""

    def __init__(self, app, state):
        self.app = app
        self.state = state

    def __call__(self, environ, start_response):
        path = _wsgi_path(environ)
        graph = is_graph_path(path)
        if not graph and not is_token_path(path):
            return self.app(environ, start_response)

        method = environ.get("REQUEST_METHOD", "GET")
        started = time.monotonic()
        mailbox = self.mailbox_of(path, environ.get("HTTP_AUTHORIZATION")) if graph else None
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        fault = self._oversized(environ) if graph else None
        slot_taken = False
        if fault is None:
            fault = self.state.faults.acquire(mailbox)
            slot_taken = fault is None
        try:
            if fault is None:
                fault = self.state.faults.check(method, path, mailbox)
            if fault is not None and fault.kind == "expired_token" and not graph:
                fault = None  # an "expired token" means nothing to the token endpoint
            if fault is not None and fault.kind == "drop":
                self._record(environ, path, 0, started, mailbox, False)
                _drop_connection(environ)
            cut = fault if fault is not None and fault.kind == "cut" else None
            if cut is not None:
                fault = None
            if fault is not None:
                body = self._fault_response(fault, graph, capture)
            else:
                body = self.app(environ, capture)
                if environ.get("emulator.stream"):
                    # An attachment's $value: passed through a chunk at a time, the slot
                    # held until the server closes the body. Logged now, before the bytes.
                    self._record(environ, path, captured.get("status", 500), started, mailbox, False)
                    released = slot_taken
                    slot_taken = False
                    length = int(environ.get("emulator.length") or 0)
                    return _Streamed(
                        body, environ, cut, length, lambda: released and self.state.faults.release(mailbox)
                    )
                body = _drain(body)
                if cut is not None:
                    body = _Streamed(body, environ, cut, sum(len(c) for c in body), lambda: None)
        finally:
            if slot_taken:
                self.state.faults.release(mailbox)
        self._record(environ, path, captured.get("status", 500), started, mailbox, bool(fault and fault.throttled))
        return body

    def mailbox_of(self, path: str, authorization: str | None) -> str | None:
        return mailbox_of(self.state, path, authorization)

    def _oversized(self, environ) -> Fault | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        return _TooLarge() if length > MAX_BODY_BYTES else None

    def _fault_response(self, fault, graph: bool, start_response):
        status, headers, body = fault.graph_response() if graph else fault.oauth_response()
        payload = json.dumps(body).encode()
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(payload))),
                (
                    "request-id",
                    body.get("error", {}).get("innerError", {}).get("request-id", "")
                    if isinstance(body.get("error"), dict)
                    else "",
                ),
                *headers.items(),
            ],
        )
        return [payload]

    def _record(self, environ, path, status, started, mailbox, throttled):
        self.state.log.record(
            method=environ.get("REQUEST_METHOD", "GET"),
            path=path,
            query=unquote_plus(environ.get("QUERY_STRING", "")),
            status=status,
            throttled=throttled or status == 429,
            duration_ms=(time.monotonic() - started) * 1000,
            mailbox=mailbox,
            app_only=tokens.app_only_bearer(environ.get("HTTP_AUTHORIZATION")),
        )


class _TooLarge(Fault):
    def __init__(self):
        super().__init__("too_large")

    @property
    def status(self) -> int:
        return 413

    def graph_response(self):
        return (
            413,
            {},
            graph_error_body("RequestEntityTooLarge", "The request body is larger than the 4 MB Graph accepts."),
        )


_REASONS = {
    401: "Unauthorized",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def mailbox_of(state, path: str, authorization: str | None) -> str | None:
    """The mailbox (lower-case UPN) a Graph path targets: /users/{id|upn}/… or the token's user for /me.

    `path` includes /v1.0. Used for throttling and the request log; `$batch`
    inner requests use it too (prefix their url with /v1.0).
    """
    match = _USERS_SEGMENT.match(path)
    if match:
        key = match.group(1) or match.group(2)
    elif path == "/v1.0/me" or path.startswith("/v1.0/me/"):
        claims = tokens.unverified_claims(authorization)
        key = claims.get("oid") or claims.get("upn") or claims.get("preferred_username")
    else:
        return None
    if not key:
        return None
    user = state.store.find_user(key)
    return (user.upn if user else key).lower()


def _wsgi_path(environ) -> str:
    # PEP 3333 hands the path over as latin-1 decoded bytes; UPNs may be UTF-8.
    raw = environ.get("PATH_INFO", "")
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def _drain(body_iter) -> list[bytes]:
    """Produce the whole body while the mailbox slot is still held."""
    try:
        return list(body_iter)
    finally:
        if hasattr(body_iter, "close"):
            body_iter.close()


class _Streamed:
    """A response body passed through unbuffered; with a "cut" fault the connection drops
    after `after_bytes` of it (half of Content-Length by default), as a network failure
    half-way through a download would. `on_close` runs once, when the server is done."""

    def __init__(self, body, environ, cut: Fault | None, length: int, on_close):
        self._body = body
        self._environ = environ
        self._on_close = on_close
        self._limit = None
        if cut is not None:
            self._limit = cut.after_bytes if cut.after_bytes is not None else length // 2

    def __iter__(self):
        sent = 0
        for chunk in self._body:
            if self._limit is not None and sent + len(chunk) >= self._limit:
                yield chunk[: self._limit - sent]
                flush = self._environ.get("emulator.flush")
                if flush is not None:
                    try:
                        flush()  # what was let through reaches the client before the cut
                    except OSError:
                        pass
                _drop_connection(self._environ)
            sent += len(chunk)
            yield chunk

    def close(self):
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            callback, self._on_close = self._on_close, None
            if callback is not None:
                callback()


def _drop_connection(environ):
    """Close the client's connection with no response.

    The server puts the socket in `environ["emulator.socket"]`; ECONNRESET tells it
    the connection is gone, so it neither answers nor logs a traceback.
    """
    sock = environ.get("emulator.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionResetError(errno.ECONNRESET, "emulator fault: dropped connection")
