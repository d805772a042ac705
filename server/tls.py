"""Which certificate authorities the backend trusts for Graph and the identity provider.

`requests` lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override a
Session's `verify` (msal's included), and both are set on these machines. So we own the
session's settings (`trust_env=False`) and hand it one combined bundle: certifi's public
CAs plus the extra CA in CA_BUNDLE (the local emulator's), so the same session reaches
Microsoft's real endpoints and the emulator alike.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path

import certifi
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_ import create_urllib3_context

_DEFAULT_INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _instance_dir(config: Mapping) -> Path:
    return Path(config.get("INSTANCE_DIR") or config.get("INSTANCE_PATH") or _DEFAULT_INSTANCE_DIR)


def ca_bundle_path(config: Mapping) -> str | bool:
    """Return what `verify=` should be: True (certifi's CAs) when CA_BUNDLE is unset,
    else the path of a bundle of certifi's CAs plus CA_BUNDLE, written under the
    instance dir.

    The file name carries a hash of its content, so a changed CA_BUNDLE (or certifi
    upgrade) writes a new file, and processes trusting different CAs never overwrite
    each other's bundle. Raises FileNotFoundError when CA_BUNDLE names no file.
    """
    extra = config.get("CA_BUNDLE")
    if not extra:
        return True
    extra_path = Path(extra).expanduser().resolve()
    if not extra_path.is_file():
        raise FileNotFoundError(f"CA_BUNDLE={extra!r}: no such file")
    content = Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n\n"
    content += f"# CA_BUNDLE: {extra_path}\n".encode() + extra_path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()[:16]
    target_dir = _instance_dir(config) / "tls"
    target = target_dir / f"ca-bundle-{digest}.pem"
    if target.is_file() and target.read_bytes() == content:
        return str(target)
    target_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a bundle.
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".ca-bundle-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return str(target)


class TrustingAdapter(HTTPAdapter):
    """An HTTPAdapter whose https connections verify against one SSLContext loaded once.

    With `verify=<path>`, requests hands urllib3 the path and urllib3 parses the whole
    bundle (~150 CAs) again for every new connection: ~40 ms of CPU each (bench/b1_pane_api.py),
    paid on every request to a server that closes connections, and after every idle
    timeout in production. A request that asks for other verification (verify=False
    or another path) gets requests' usual behaviour.
    """

    def __init__(self, verify: str | bool, **kwargs):
        self.trusted = verify
        self.ssl_context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
        if verify is True:
            self.ssl_context.load_verify_locations(certifi.where())
        else:
            self.ssl_context.load_verify_locations(verify)
        super().__init__(**kwargs)

    def _preloaded(self, url: str, verify) -> bool:
        return verify == self.trusted and url.lower().startswith("https")

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._preloaded(request.url, verify):
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = self.ssl_context
        return host_params, pool_kwargs

    def cert_verify(self, conn, url, verify, cert):
        if self._preloaded(url, verify):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = conn.ca_cert_dir = None  # the context already holds them
            return
        super().cert_verify(conn, url, verify, cert)


def http_session(config: Mapping, pool_size: int = 16) -> requests.Session:
    """A `requests.Session` that trusts exactly `ca_bundle_path(config)` and ignores
    proxy/CA settings from the environment (they would override `verify`)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle_path(config)
    # Retries are the Graph transport's job (one policy); the adapter never retries.
    adapter = TrustingAdapter(session.verify, pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
