"""The wire's own HTTP/1.1 heads (server/graph/http11.py) over real sockets: a local
server answers each request with bytes written out by hand, so every case of the
answer's head is exact: normal fields, repeated and folded ones, heads cut short or too
large (errors, never a hang), answers without a body, chunked bodies, Connection: close
and HTTP/1.0. And the request head: what could split a line is refused before anything
is sent."""

from __future__ import annotations

import socket
import ssl
import threading

import certifi
import pytest

from server.graph.http11 import Headers
from server.graph.wire import Broken, ReadTimeout, RequestFailed, WireClient

JSON_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


class CannedServer:
    """Plain HTTP on 127.0.0.1: reads each request's head and answers it with the next
    of `answers` (bytes, or (bytes, close) to close the connection after it)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            received = b""
            while self.answers:
                while b"\r\n\r\n" not in received:
                    data = conn.recv(65536)
                    if not data:
                        return
                    received += data
                head, _, received = received.partition(b"\r\n\r\n")
                self.requests.append(head)
                answer = self.answers.pop(0)
                answer, close = answer if isinstance(answer, tuple) else (answer, False)
                conn.sendall(answer)
                if close:
                    return
            conn.recv(1)  # holds the connection open until the client closes it

    def close(self):
        self.listener.close()


@pytest.fixture
def canned():
    servers = []
    client = WireClient(ssl.create_default_context(cafile=certifi.where()))

    def serve(*answers):
        server = CannedServer(*answers)
        servers.append(server)
        return server

    yield client, serve
    client.close()
    for server in servers:
        server.close()


def answer(head: bytes, body: bytes = b"") -> bytes:
    return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def test_a_normal_answer_is_read_and_its_connection_kept(canned):
    client, serve = canned
    server = serve(
        answer(JSON_HEAD + b"request-id: r-1\r\nOData-Version: 4.0\r\n", b'{"a":1}'),
        answer(JSON_HEAD + b"request-id: r-2\r\n", b'{"a":2}'),
    )
    response = client.request("GET", server.url + "/v1.0/me?$select=id", headers={"Authorization": "Bearer t"})
    assert (response.status_code, response.reason) == (200, "OK")
    assert response.json() == {"a": 1}
    assert response.headers["REQUEST-ID"] == "r-1" and response.headers.get("odata-version") == "4.0"
    assert "content-type" in response.headers and response.headers.get("missing") is None
    assert dict(response.headers) == {
        "Content-Type": "application/json",
        "request-id": "r-1",
        "OData-Version": "4.0",
        "Content-Length": "7",
    }
    assert client.request("GET", server.url + "/v1.0/me").json() == {"a": 2}
    assert server.accepted == 1 and client.connections_opened == 1
    first = server.requests[0].split(b"\r\n")
    assert first[0] == b"GET /v1.0/me?$select=id HTTP/1.1"
    assert first[1:] == [
        b"Host: 127.0.0.1:" + server.url.rsplit(":", 1)[1].encode(),
        b"Accept-Encoding: identity",
        b"Authorization: Bearer t",
    ]


def test_a_repeated_field_is_joined_and_a_folded_line_continues_its_field(canned):
    client, serve = canned
    server = serve(
        answer(
            JSON_HEAD + b"Warning: one\r\nX-Note: first part\r\n\t second part\r\nwarning: two\r\n",
            b"{}",
        )
    )
    response = client.request("GET", server.url + "/")
    assert response.headers["Warning"] == "one, two"
    assert response.headers["x-note"] == "first part second part"
    assert response.json() == {}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", id="head-ends-before-its-blank-line"),
        pytest.param(b"HTTP/1.1 200 OK", id="status-line-cut"),
        pytest.param(b"", id="nothing"),
        pytest.param(b"SPDY/3 200 OK\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 2x0 OK\r\n\r\n", id="bad-status"),
        pytest.param(b"HTTP/1.1 200 OK\r\n\tfolded first\r\nContent-Length: 0\r\n\r\n", id="starts-folded"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n", id="line-without-name"),
        pytest.param(b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n", id="name-with-space"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nab", id="conflicting-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", id="unknown-coding"),
        pytest.param(b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", id="too-many-fields"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", id="line-too-long"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", id="body-cut"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", id="chunk-cut"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk-size"),
    ],
)
def test_a_malformed_or_cut_answer_is_broken_and_never_pooled(canned, raw):
    client, serve = canned
    server = serve((raw, True), answer(JSON_HEAD, b"{}"))
    with pytest.raises(Broken):
        client.request("GET", server.url + "/", timeout=(2, 5))
    assert client.idle_count(server.url) == 0
    assert client.request("GET", server.url + "/").json() == {}  # a new connection
    assert server.accepted == 2


def test_a_head_that_never_ends_times_out(canned):
    client, serve = canned
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")  # and the connection stays open
    with pytest.raises(ReadTimeout):
        client.request("GET", server.url + "/", timeout=(2, 0.3))
    assert client.idle_count(server.url) == 0


def test_answers_without_a_body_keep_the_connection(canned):
    client, serve = canned
    server = serve(
        b"HTTP/1.1 204 No Content\r\nrequest-id: r\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n",
        answer(b"HTTP/1.1 200 OK\r\n"),
    )
    response = client.request("PATCH", server.url + "/m", json={"categories": []})
    assert response.status_code == 204 and response.content == b"" and response.headers["request-id"] == "r"
    response = client.request("GET", server.url + "/m")
    assert response.status_code == 304 and response.headers["etag"] == "x" and response.content == b""
    assert client.request("GET", server.url + "/m").content == b""
    assert server.accepted == 1
    patch = server.requests[0].split(b"\r\n")
    assert b"Content-Type: application/json" in patch and b"Content-Length: 17" in patch


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    b'4;ext=1\r\n{"a"\r\n3\r\n:12\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n'
)


def test_a_chunked_body_is_read_whole_or_streamed_and_the_connection_kept(canned):
    client, serve = canned
    server = serve(CHUNKED, CHUNKED, answer(JSON_HEAD, b"{}"))
    assert client.request("GET", server.url + "/").json() == {"a": 12}
    response = client.request("GET", server.url + "/", stream=True)
    assert b"".join(response.iter_content(2)) == b'{"a":12}'
    response.close()
    assert client.idle_count(server.url) == 1
    assert client.request("GET", server.url + "/").json() == {}
    assert server.accepted == 1


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n", b"{}"), id="connection-close"),
        pytest.param(answer(b"HTTP/1.0 200 OK\r\n", b"{}"), id="http-1.0"),
        pytest.param(b"HTTP/1.1 200 OK\r\n\r\n{}", id="body-to-the-close"),
    ],
)
def test_an_answer_whose_connection_closes_is_read_and_not_pooled(canned, raw):
    client, serve = canned
    server = serve((raw, True), answer(JSON_HEAD, b"{}"))
    assert client.request("GET", server.url + "/").json() == {}
    assert client.idle_count(server.url) == 0
    assert client.request("GET", server.url + "/").json() == {}
    assert server.accepted == 2


def test_http_1_0_with_keep_alive_is_pooled(canned):
    client, serve = canned
    server = serve(answer(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", b"{}"), answer(JSON_HEAD, b"{}"))
    assert client.request("GET", server.url + "/").json() == {}
    assert client.request("GET", server.url + "/").json() == {}
    assert server.accepted == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Evil": "a\r\nInjected: yes"},
        {"X-Evil": "a\nb"},
        {"X-Evil": "a\rb"},
        {"Bad Name": "x"},
        {"Bad:Name": "x"},
        {"X-Name\r\n": "x"},
        {"X-Not-Latin-1": "zoë ☃"},
        {"X-Not-A-String": b"bytes"},
    ],
)
def test_a_request_head_that_could_split_a_line_is_refused_before_sending(canned, headers):
    client, serve = canned
    server = serve(answer(JSON_HEAD, b"{}"))
    with pytest.raises(RequestFailed):
        client.request("GET", server.url + "/", headers=headers)
    assert server.accepted == 0


def test_a_control_character_in_the_url_or_method_is_refused(canned):
    client, serve = canned
    server = serve(answer(JSON_HEAD, b"{}"))
    with pytest.raises(RequestFailed):
        client.request("GET", server.url + "/a\x01b")
    with pytest.raises(RequestFailed):
        client.request("GET /x HTTP/1.1\r\n", server.url + "/")
    assert server.accepted == 0


def test_headers_are_a_read_only_case_insensitive_mapping():
    headers = Headers({"Retry-After": "3", "request-id": "r"})
    assert headers["retry-after"] == "3" and headers.get("REQUEST-ID") == "r"
    assert len(headers) == 2 and list(headers) == ["Retry-After", "request-id"]
    assert 3 not in headers and "x" not in headers
    with pytest.raises(KeyError):
        headers["x"]
    with pytest.raises(TypeError):
        headers["x"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", id="length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nshort", id="chunked"),
    ],
)
def test_a_streamed_body_cut_short_gives_what_came_then_raises(canned, raw):
    client, serve = canned
    server = serve((raw, True))
    response = client.request("GET", server.url + "/", stream=True)
    received = []
    with pytest.raises(Broken):
        for chunk in response.iter_content(1024):
            received.append(chunk)
    assert b"".join(received) == b"short"
    assert client.idle_count(server.url) == 0


def test_bytes_after_the_body_are_never_read_as_the_next_answer(canned):
    client, serve = canned
    server = serve(answer(JSON_HEAD, b"{}") + b"HTTP/1.1 200 OK\r\n", answer(JSON_HEAD, b'{"next":1}'))
    assert client.request("GET", server.url + "/").json() == {}
    assert client.idle_count(server.url) == 0
    assert client.request("GET", server.url + "/").json() == {"next": 1}
    assert server.accepted == 2
