"""App-only tokens for our API, as Entra ID would issue an integration's daemon."""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization

from tests.support.identities import ADELE, CLIENT_ID


def emulator_signing_key(emulator):
    return serialization.load_pem_private_key((emulator.state_dir / "signing-key.pem").read_bytes(), password=None)


def app_only_token(emulator, tid: str, roles=("Crm.ReadWrite.All",), **changes) -> str:
    """An app-only token for OUR API, as Entra ID would issue an integration's daemon
    (client credentials, scope api://.../.default). The emulator only mints app-only
    tokens for Graph, so this one is signed with the emulator's own key."""
    now = int(time.time())
    integration = "5d2b8c1e-7f3a-4e69-b0d4-9a1c6e2f8b37"
    claims = {
        "aud": f"api://localhost:5000/{CLIENT_ID}",
        "iss": f"{emulator.base_url}/{tid}/",
        "ver": "1.0",
        "tid": tid,
        "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{integration}/{tid}")),
        "appid": integration,
        "appidacr": "1",
        "idtyp": "app",
        "roles": list(roles),
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
    }
    claims.update(changes)
    kid = jwt.get_unverified_header(emulator.pane_token(ADELE))["kid"]
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None},
        emulator_signing_key(emulator),
        algorithm="RS256",
        headers={"kid": kid},
    )
