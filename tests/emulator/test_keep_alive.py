"""HTTP/1.1 keep-alive: like Graph, the emulator answers many requests on one connection."""

import http.client
import json
import socket
import ssl

import pytest

from tests.support.emulator_process import trusting_session
from tests.support.identities import ADELE


@pytest.fixture
def auth(emulator):
    return {"Authorization": f"Bearer {emulator.graph_token(ADELE)}"}


@pytest.fixture
def connection(emulator):
    """One HTTPS connection to the emulator, trusting its CA."""
    port = int(emulator.base_url.rsplit(":", 1)[1])
    tls = ssl.create_default_context(cafile=emulator.ca_path)
    conn = http.client.HTTPSConnection("localhost", port, context=tls, timeout=10)
    yield conn
    conn.close()


def exchange(conn, method, path, **kw):
    """One request and its whole answer on `conn`: (status, headers, body)."""
    conn.request(method, path, **kw)
    response = conn.getresponse()
    return response.status, response.headers, response.read()


def test_consecutive_requests_reuse_one_connection(emulator, auth):
    session = trusting_session(emulator.ca_path)  # a fresh pool: connections made here are ours
    url = emulator.graph_url + "/me/mailFolders/inbox"
    for _ in range(5):
        response = session.get(url, headers=auth, timeout=10)
        assert response.status_code == 200
        assert response.headers.get("Connection", "").lower() != "close"
    pools = session.get_adapter(url).poolmanager.pools
    assert sum(pools[key].num_connections for key in pools.keys()) == 1


def test_the_socket_stays_open_between_answers(connection, auth):
    status, _, _ = exchange(connection, "GET", "/v1.0/me", headers=auth)
    assert status == 200
    local = connection.sock.getsockname()
    for _ in range(3):
        status, _, body = exchange(connection, "GET", "/v1.0/me", headers=auth)
        assert status == 200 and json.loads(body)["userPrincipalName"].lower() == ADELE
        assert connection.sock is not None and connection.sock.getsockname() == local


def test_a_post_with_a_body_then_a_get_on_the_same_connection(connection, auth):
    body = json.dumps(
        {"givenName": "Keep", "surname": "Alive", "emailAddresses": [{"address": "keep.alive@example.com"}]}
    )
    status, _, created = exchange(
        connection, "POST", "/v1.0/me/contacts", body=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert status == 201
    local = connection.sock.getsockname()
    status, _, got = exchange(connection, "GET", f"/v1.0/me/contacts/{json.loads(created)['id']}", headers=auth)
    assert status == 200 and json.loads(got)["surname"] == "Alive"
    assert connection.sock.getsockname() == local


def test_a_body_the_app_never_reads_does_not_leak_into_the_next_request(connection, auth):
    # No token: the 401 is decided before the body is read; the server must skip it.
    status, _, _ = exchange(
        connection,
        "POST",
        "/v1.0/me/contacts",
        body=b'{"surname": "GET /v1.0/me"}' * 500,
        headers={"Content-Type": "application/json"},
    )
    assert status == 401
    local = connection.sock.getsockname()
    status, _, _ = exchange(connection, "GET", "/v1.0/me", headers=auth)
    assert status == 200
    assert connection.sock.getsockname() == local


def test_connection_close_from_the_client_is_honoured(emulator, auth):
    port = int(emulator.base_url.rsplit(":", 1)[1])
    tls = ssl.create_default_context(cafile=emulator.ca_path)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        tls.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        sock.sendall(
            b"GET /v1.0/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            + f"Authorization: {auth['Authorization']}\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(65536):  # ends only when the server closes
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200")
    assert b"\r\nconnection: close" in head


def test_a_drop_fault_closes_a_kept_alive_connection_without_an_answer(emulator, connection, auth):
    assert exchange(connection, "GET", "/v1.0/me", headers=auth)[0] == 200
    emulator.fault(path="/me", kind="drop", count=1)
    connection.request("GET", "/v1.0/me", headers=auth)
    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected: no status line at all
        connection.getresponse()
    connection.close()
    assert exchange(connection, "GET", "/v1.0/me", headers=auth)[0] == 200
    assert [row["status"] for row in emulator.requests(path="/me$")] == [200, 0, 200]
