"""Transport: the emulator's CA and certificate, restarts, concurrency, and errors without stack traces."""

import concurrent.futures
import ipaddress
import socket
import ssl
from pathlib import Path

import jwt
import pytest
import requests
from cryptography import x509

ROOT = Path(__file__).resolve().parents[2]


def test_state_dir_holds_the_ca_and_keys(emulator):
    for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "signing-key.pem"):
        assert (emulator.state_dir / name).is_file(), name
    assert (emulator.state_dir / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_server_certificate_names_localhost_and_loopback(emulator):
    cert = x509.load_pem_x509_certificate((emulator.state_dir / "server.pem").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    ca = x509.load_pem_x509_certificate((emulator.state_dir / "ca.pem").read_bytes())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


def test_https_verifies_with_the_ca_by_name_and_by_ip(emulator):
    port = emulator.base_url.rsplit(":", 1)[1]
    for host in ("localhost", "127.0.0.1"):
        response = emulator.session.get(f"https://{host}:{port}/_emulator/users", timeout=10)
        assert response.status_code == 200


def test_an_untrusting_client_is_refused(emulator):
    session = requests.Session()
    session.trust_env = False  # certifi only: our CA is not in it
    with pytest.raises(requests.exceptions.SSLError):
        session.get(emulator.base_url + "/_emulator/users", timeout=10)


def test_tls_context_from_the_ca_file_works(emulator):
    context = ssl.create_default_context(cafile=emulator.ca_path)
    port = int(emulator.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_restart_reuses_ca_and_signing_key(tmp_path, launch_emulator):
    first = launch_emulator(tmp_path)
    ca_before = (tmp_path / "ca.pem").read_bytes()
    token = first.pane_token("adele.vance@contoso.com")
    launch_emulator.stop(first)

    second = launch_emulator(tmp_path)
    assert (tmp_path / "ca.pem").read_bytes() == ca_before
    keys = second.session.get(second.base_url + "/organizations/discovery/v2.0/keys", timeout=10).json()["keys"]
    key = jwt.PyJWK(keys[0])
    assert key.key_id == jwt.get_unverified_header(token)["kid"]
    jwt.decode(token, key.key, algorithms=["RS256"], options={"verify_aud": False})


def test_without_a_fixture_it_loads_the_demo(tmp_path, launch_emulator):
    demo = launch_emulator(tmp_path, fixture=None)
    assert demo.users()
    assert f"CA: {tmp_path / 'ca.pem'}" in demo.log_path.read_text()


def test_plain_http_port_serves_the_same_app(tmp_path, launch_emulator):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        http_port = s.getsockname()[1]
    launch_emulator(tmp_path, extra_args=["--http-port", str(http_port)])
    session = requests.Session()
    session.trust_env = False
    assert session.get(f"http://localhost:{http_port}/_emulator/users", timeout=10).status_code == 200


def test_serves_many_requests_at_once(emulator):
    def fetch(_):
        return emulator.session.get(
            emulator.base_url + "/organizations/v2.0/.well-known/openid-configuration", timeout=20
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(fetch, range(48))) == {200}


def test_unknown_graph_path_is_a_graph_404(emulator):
    token = emulator.graph_token("adele.vance@contoso.com")
    response = emulator.graph("GET", "/no/such/thing", token)
    assert response.status_code in (400, 404)
    error = response.json()["error"]
    assert {"code", "message"} <= error.keys()
    assert "Traceback" not in response.text


def test_oversized_body_is_413_with_a_graph_error(emulator):
    token = emulator.graph_token("adele.vance@contoso.com")
    response = emulator.graph(
        "POST", "/me/messages", token, data=b"x" * (4 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"


def test_unknown_path_outside_graph_is_json(emulator):
    response = emulator.session.get(emulator.base_url + "/definitely/not/here/at/all", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")


def test_the_emulator_package_is_not_imported_by_the_backend():
    server = ROOT / "server"
    offenders = [
        str(p) for p in server.rglob("*.py") if "import emulator" in p.read_text() or "from emulator" in p.read_text()
    ]
    assert offenders == []


def test_a_silent_connection_does_not_stall_the_server(emulator):
    # A client that connects and never starts TLS (a browser's speculative socket).
    port = int(emulator.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10):
        response = emulator.session.get(emulator.base_url + "/_emulator/users", timeout=5)
        assert response.status_code == 200


def test_plain_http_on_the_https_port_is_refused_cleanly(emulator):
    port = emulator.base_url.rsplit(":", 1)[1]
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.ConnectionError):
        session.get(f"http://127.0.0.1:{port}/_emulator/users", timeout=5)
    assert emulator.session.get(emulator.base_url + "/_emulator/users", timeout=5).status_code == 200
