"""Graph's own HTTP client (server/graph/wire.py) against the emulated Graph over HTTPS,
and a small local HTTP server where a test needs the server to misbehave on purpose:
kept-alive connections reused, a connection closed while idle never reused, trust as
strict as the session's, and each failure in the class the transport's retry policy
reads (not sent, timed out, broken off)."""

from __future__ import annotations

import http.server
import socket
import socketserver
import ssl
import threading

import certifi
import pytest
import requests

from server.graph import DownloadInterrupted, GraphClient, Unavailable
from server.graph.wire import (
    Broken,
    ConnectTimeout,
    NotSent,
    ReadTimeout,
    RequestFailed,
    TlsError,
    WireClient,
    split_url,
    wire_for,
)
from server.tls import http_session
from tests.support.attachments import MiB, generated_file, message_with
from tests.support.identities import ADELE

VALUE = r"/attachments/[^/]+/\$value$"


@pytest.fixture
def wire(emulator_reset, tmp_path):
    session = http_session({"CA_BUNDLE": emulator_reset.ca_path, "INSTANCE_DIR": str(tmp_path)})
    yield wire_for(session)
    emulator_reset.clear_faults()


@pytest.fixture
def token(emulator_reset):
    return emulator_reset.graph_token(ADELE)


def auth(token):
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_one_session_has_one_client_trusting_what_it_trusts(emulator_reset, tmp_path):
    session = http_session({"CA_BUNDLE": emulator_reset.ca_path, "INSTANCE_DIR": str(tmp_path)})
    client = wire_for(session)
    assert wire_for(session) is client
    assert client.ssl_context is session.get_adapter("https://x/").ssl_context
    assert client.ssl_context.check_hostname and client.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert client.pool_size == 16
    smaller = http_session({"CA_BUNDLE": emulator_reset.ca_path, "INSTANCE_DIR": str(tmp_path)}, pool_size=2)
    assert wire_for(smaller).pool_size == 2
    unverified = requests.Session()
    unverified.verify = False
    with pytest.raises(ValueError):
        wire_for(unverified)


def test_sequential_requests_share_one_kept_alive_connection(wire, emulator_reset, token):
    url = emulator_reset.graph_url + "/me/mailFolders/inbox/messages?$select=id,subject&$top=2"
    for _ in range(10):
        response = wire.request("GET", url, headers=auth(token))
        assert response.status_code == 200 and len(response.json()["value"]) == 2
    assert wire.connections_opened == 1
    assert wire.idle_count(url) == 1


def test_a_json_body_goes_out_compact_and_comes_back(wire, emulator_reset, token):
    response = wire.request(
        "POST",
        emulator_reset.graph_url + "/me/contacts",
        json={"givenName": "Wire", "emailAddresses": [{"address": "wire@example.com"}]},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    assert response.json()["givenName"] == "Wire"
    assert response.request.headers["Content-Type"] == "application/json"


def test_an_untrusted_certificate_is_a_tls_error(emulator_reset, token):
    client = WireClient(ssl.create_default_context(cafile=certifi.where()))
    with pytest.raises(TlsError):
        client.request("GET", emulator_reset.graph_url + "/me", headers=auth(token))
    assert client.connections_opened == 0


def test_a_refused_connection_was_not_sent(wire):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    with pytest.raises(NotSent) as caught:
        wire.request("POST", f"https://127.0.0.1:{port}/v1.0/me/sendMail", json={}, timeout=(2, 2))
    assert not isinstance(caught.value, (TlsError, ConnectTimeout))


def test_no_answer_in_time_is_a_read_timeout(wire, emulator_reset, token):
    emulator_reset.fault(path=r"^/v1\.0/me$", kind="latency", latency_ms=3000, count=1)
    with pytest.raises(ReadTimeout):
        wire.request("GET", emulator_reset.graph_url + "/me", headers=auth(token), timeout=(2, 0.3))
    assert wire.idle_count(emulator_reset.graph_url) == 0  # the late answer is never read as another's


def test_a_dropped_connection_is_broken(wire, emulator_reset, token):
    emulator_reset.fault(path=r"^/v1\.0/me$", kind="drop", count=1)
    with pytest.raises(Broken):
        wire.request("GET", emulator_reset.graph_url + "/me", headers=auth(token))
    assert wire.request("GET", emulator_reset.graph_url + "/me", headers=auth(token)).status_code == 200


def attachment(emulator, token, wire, size):
    message = emulator.deliver(ADELE, message_with([generated_file("w.bin", size, "wire")]), folder="inbox")
    listed = wire.request(
        "GET", emulator.graph_url + f"/me/messages/{message['id']}/attachments?$select=id", headers=auth(token)
    ).json()["value"]
    return emulator.graph_url + f"/me/messages/{message['id']}/attachments/{listed[0]['id']}/$value"


def test_a_body_cut_half_way_raises_while_streaming(wire, emulator_reset, token):
    url = attachment(emulator_reset, token, wire, 2 * MiB)
    emulator_reset.fault(path=VALUE, kind="cut", count=1)
    response = wire.request("GET", url, headers=auth(token), stream=True)
    received = 0
    with pytest.raises(Broken):
        for chunk in response.iter_content(64 * 1024):
            received += len(chunk)
    assert 0 < received < 2 * MiB
    response.close()
    assert wire.idle_count(url) == 0


def test_a_stream_closed_early_is_not_pooled_and_one_read_to_its_end_is(wire, emulator_reset, token):
    url = attachment(emulator_reset, token, wire, 2 * MiB)
    opened = wire.connections_opened
    response = wire.request("GET", url, headers=auth(token), stream=True)
    next(response.iter_content(64 * 1024))
    response.close()
    assert wire.idle_count(url) == 0
    response = wire.request("GET", url, headers=auth(token), stream=True)
    assert sum(len(c) for c in response.iter_content(256 * 1024)) == 2 * MiB
    response.close()
    assert wire.idle_count(url) == 1
    assert wire.request("GET", url, headers=auth(token), stream=True).status_code == 200
    assert wire.connections_opened == opened + 1  # the half-read one was closed, the whole one reused


def test_a_cut_download_is_download_interrupted(emulator_reset, tmp_path, token):
    session = http_session({"CA_BUNDLE": emulator_reset.ca_path, "INSTANCE_DIR": str(tmp_path)})
    client = GraphClient(emulator_reset.graph_url, lambda: token, session, max_wait_s=2)
    message = emulator_reset.deliver(ADELE, message_with([generated_file("c.bin", MiB, "cut")]), folder="inbox")
    (att,) = client.list_attachments(message["id"])
    emulator_reset.fault(path=VALUE, kind="cut", after_bytes=1000, count=1)
    with pytest.raises(DownloadInterrupted):
        b"".join(client.attachment_content(message["id"], att["id"]))
    assert wire_for(session).idle_count(emulator_reset.graph_url) <= 1  # only the metadata read's


def test_the_transport_says_unreachable_for_a_refused_port(emulator_reset, tmp_path, token):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = http_session({"CA_BUNDLE": emulator_reset.ca_path, "INSTANCE_DIR": str(tmp_path)})
    client = GraphClient(f"https://127.0.0.1:{port}/v1.0", lambda: token, session, max_wait_s=0)
    with pytest.raises(Unavailable) as caught:
        client.get_user()
    assert caught.value.code == "ServiceUnreachable"


# -- a local plain-HTTP server that closes connections on purpose ------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = b'{"ok":true}'
        if self.path == "/http10":
            self.protocol_version = "HTTP/1.0"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if self.path == "/quietly-close":
            self.close_connection = True  # no header says so: the idle socket just closes

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.accepted = 0
        self.closed = threading.Semaphore(0)

    def get_request(self):
        self.accepted += 1
        return super().get_request()

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.closed.release()


@pytest.fixture
def local():
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = WireClient(ssl.create_default_context(cafile=certifi.where()))
    yield client, f"http://127.0.0.1:{server.server_address[1]}", server
    client.close()
    server.shutdown()
    server.server_close()


def test_a_url_is_sent_as_given_or_percent_encoded_where_http_needs_it():
    assert split_url("https://graph.example/v1.0/me?$select=id,subject&$filter=a%20eq%20'b'#frag") == (
        ("https", "graph.example", 443),
        "/v1.0/me?$select=id,subject&$filter=a%20eq%20'b'",
    )
    assert split_url("http://[::1]:8080?x=1") == (("http", "::1", 8080), "/?x=1")
    assert split_url("https://h/v1.0/users/zoë@x/a b")[1] == "/v1.0/users/zo%C3%AB@x/a%20b"
    with pytest.raises(RequestFailed):
        split_url("ftp://h/x")


def test_plain_http_keeps_alive_too(local):
    client, base, server = local
    for _ in range(5):
        assert client.request("GET", base + "/a?x=1").json() == {"ok": True}
    assert client.connections_opened == 1 and server.accepted == 1


def test_a_connection_the_server_closed_while_idle_is_not_reused(local):
    client, base, server = local
    assert client.request("GET", base + "/quietly-close").status_code == 200
    assert client.idle_count(base) == 1  # nothing said it would close
    assert server.closed.acquire(timeout=10)
    assert client.request("GET", base + "/again").json() == {"ok": True}  # no error surfaces
    assert client.connections_opened == 2 and server.accepted == 2


@pytest.mark.parametrize("path", ["/close", "/http10"])
def test_a_connection_the_server_will_close_is_not_pooled(local, path):
    client, base, server = local
    assert client.request("GET", base + path).status_code == 200
    assert client.idle_count(base) == 0
    assert client.request("GET", base + "/next").status_code == 200
    assert client.connections_opened == 2
