"""Every bad token gets 401 with the error shape, through the real API route."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.app_tokens import app_only_token
from tests.support.identities import ADELE, ADELE_OID, CLIENT_ID, CONTOSO, FABRIKAM, SAM

OFFICE = "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e"


def emulator_key(emulator):
    pem = (emulator.state_dir / "signing-key.pem").read_bytes()
    return serialization.load_pem_private_key(pem, password=None)


def good_claims(emulator, **changes):
    now = int(time.time())
    claims = {
        "aud": CLIENT_ID,
        "iss": f"{emulator.base_url}/{CONTOSO}/v2.0",
        "tid": CONTOSO,
        "oid": ADELE_OID,
        "preferred_username": ADELE,
        "name": "Adele Vance",
        "scp": "access_as_user",
        "azp": OFFICE,
        "ver": "2.0",
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def kid_of(emulator):
    return jwt.get_unverified_header(emulator.pane_token(ADELE))["kid"]


def sign(emulator, claims, key=None):
    return jwt.encode(claims, key or emulator_key(emulator), algorithm="RS256", headers={"kid": kid_of(emulator)})


def unsigned(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_well_formed_token_of_our_own_making_is_accepted(client, emulator):
    # Guards the cases below: they differ from this one in one claim only.
    token = sign(emulator, good_claims(emulator))
    response = client.get("/api/v1/messages/AAMkAGI2TG93AAA=", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code != 401, response.json


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong_aud",
        "wrong_iss",
        "iss_of_other_tenant",
        "bad_signature",
        "alg_none",
        "missing_scp",
        "wrong_scp",
        "not_yet_valid",
        "garbage",
        "no_bearer",
        "personal_account",
        "other_client",
        "no_client",
        "app_only",
    ],
)
def test_bad_tokens_get_401(client, emulator, case):
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = {
        "expired": lambda: sign(emulator, good_claims(emulator, exp=now - 600, iat=now - 4000, nbf=now - 4000)),
        "wrong_aud": lambda: sign(emulator, good_claims(emulator, aud="api://evil.example/other")),
        "wrong_iss": lambda: sign(emulator, good_claims(emulator, iss="https://evil.example/x/v2.0")),
        "iss_of_other_tenant": lambda: sign(
            emulator, good_claims(emulator, iss=f"{emulator.base_url}/{FABRIKAM}/v2.0")
        ),
        "bad_signature": lambda: sign(emulator, good_claims(emulator), key=other_key),
        "alg_none": lambda: unsigned(good_claims(emulator)),
        "missing_scp": lambda: sign(emulator, good_claims(emulator, scp=None)),
        "wrong_scp": lambda: sign(emulator, good_claims(emulator, scp="Mail.Read")),
        "not_yet_valid": lambda: sign(emulator, good_claims(emulator, nbf=now + 3600)),
        "garbage": lambda: "not-a-jwt",
        "personal_account": lambda: emulator.pane_token(SAM),
        "other_client": lambda: emulator.pane_token(ADELE, azp="3c9f5e27-8b1d-4f60-a4c2-7d1e0b9a6f58"),
        "no_client": lambda: sign(emulator, good_claims(emulator, azp=None)),
        "app_only": lambda: app_only_token(emulator, CONTOSO),
    }
    header = "Basic dXNlcjpwYXNz" if case == "no_bearer" else f"Bearer {tokens[case]()}"
    response = client.get("/api/v1/messages/AAMkAGI2TG93AAA=", headers={"Authorization": header})
    assert response.status_code == 401, (case, response.json)
    assert response.json["error"]["code"]
    assert response.json["error"]["message"]


def test_v1_tokens_are_accepted(client, emulator):
    token = emulator.pane_token(ADELE, ver=1)
    response = client.get("/api/v1/messages/AAMkAGI2TG93AAA=", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code != 401, response.json
