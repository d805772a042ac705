"""The emulator's own CA and its TLS certificate for localhost.

msal only accepts https authorities, so the emulator serves TLS with a
certificate from a CA it creates once under --state-dir; the backend trusts
that CA through CA_BUNDLE. Existing files are reused, so a trusted CA stays
trusted across restarts.
"""

import datetime
import ipaddress
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost",)
SERVER_IPS = ("127.0.0.1", "::1")
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass
class CertPaths:
    ca: str
    ca_key: str
    server: str
    server_key: str


def ensure_certificates(state_dir: str) -> CertPaths:
    """Create (or reuse) ca.pem, ca-key.pem, server.pem, server-key.pem in state_dir."""
    os.makedirs(state_dir, exist_ok=True)
    paths = CertPaths(*(os.path.join(state_dir, n) for n in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem")))
    ca_cert, ca_key = _load(paths.ca, paths.ca_key)
    if ca_cert is None or _expiring(ca_cert):
        ca_key = _new_key()
        ca_cert = _ca_certificate(ca_key)
        _save(paths.ca, paths.ca_key, ca_cert, ca_key)
        server_cert = None
    else:
        server_cert, _ = _load(paths.server, paths.server_key)
    if server_cert is None or _expiring(server_cert) or server_cert.issuer != ca_cert.subject:
        server_key = _new_key()
        _save(paths.server, paths.server_key, _server_certificate(server_key, ca_cert, ca_key), server_key)
    return paths


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _load(cert_path: str, key_path: str):
    if not (os.path.exists(cert_path) and os.path.exists(key_path)):
        return None, None
    try:
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except ValueError:
        return None, None  # unreadable: start over rather than fail to boot
    return cert, key


def _save(cert_path: str, key_path: str, cert, key) -> None:
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def _expiring(cert) -> bool:
    return cert.not_valid_after_utc - RENEW_BEFORE < datetime.datetime.now(datetime.UTC)


def _ca_certificate(key) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CRM Sync for Outlook (dev)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft 365 emulator local CA"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(key, ca_cert, ca_key) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    sans = [x509.DNSName(n) for n in SERVER_NAMES] + [x509.IPAddress(ipaddress.ip_address(i)) for i in SERVER_IPS]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    # Modern TLS clients cap leaf lifetimes; 397 days is the browser limit.
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=397))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
