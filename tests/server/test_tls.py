"""Trusting the emulator's CA for Graph and the authority, whatever the environment says."""

from pathlib import Path

import certifi
import pytest
import requests

from server.tls import ca_bundle_path, http_session


def test_without_ca_bundle_the_default_public_cas_are_trusted(tmp_path):
    assert ca_bundle_path({"CA_BUNDLE": None, "INSTANCE_DIR": str(tmp_path)}) is True
    assert not (tmp_path / "tls").exists()


def test_bundle_holds_certifi_and_the_extra_ca(emulator, tmp_path):
    path = ca_bundle_path({"CA_BUNDLE": emulator.ca_path, "INSTANCE_DIR": str(tmp_path)})
    content = Path(path).read_text()
    assert Path(path).parent == tmp_path / "tls"
    assert Path(certifi.where()).read_text().strip() in content
    assert Path(emulator.ca_path).read_text().strip() in content


def test_bundle_is_rewritten_when_the_extra_ca_changes(emulator, tmp_path):
    extra = tmp_path / "extra.pem"
    extra.write_text(Path(emulator.ca_path).read_text())
    config = {"CA_BUNDLE": str(extra), "INSTANCE_DIR": str(tmp_path)}
    first = ca_bundle_path(config)
    assert ca_bundle_path(config) == first
    extra.write_text(Path(emulator.ca_path).read_text() + "\n" + Path(emulator.ca_path).read_text())
    second = ca_bundle_path(config)
    assert second != first
    assert Path(second).read_text().count("BEGIN CERTIFICATE") == Path(first).read_text().count("BEGIN CERTIFICATE") + 1


def test_missing_ca_bundle_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="CA_BUNDLE"):
        ca_bundle_path({"CA_BUNDLE": str(tmp_path / "nope.pem"), "INSTANCE_DIR": str(tmp_path)})


def test_session_reaches_the_emulator_although_requests_ca_bundle_points_elsewhere(emulator, tmp_path, monkeypatch):
    # The environment names a bundle without the emulator's CA; a plain session obeys it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    url = f"{emulator.base_url}/organizations/v2.0/.well-known/openid-configuration"
    plain = requests.Session()
    plain.verify = ca_bundle_path({"CA_BUNDLE": emulator.ca_path, "INSTANCE_DIR": str(tmp_path)})
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(url, timeout=5)

    session = http_session({"CA_BUNDLE": emulator.ca_path, "INSTANCE_DIR": str(tmp_path)})
    assert session.trust_env is False
    response = session.get(url, timeout=5)
    assert response.status_code == 200
    assert response.json()["issuer"].endswith("/{tenantid}/v2.0")


def test_session_without_the_emulator_ca_refuses_it(emulator, tmp_path):
    session = http_session({"CA_BUNDLE": None, "INSTANCE_DIR": str(tmp_path)})
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{emulator.base_url}/organizations/v2.0/.well-known/openid-configuration", timeout=5)
