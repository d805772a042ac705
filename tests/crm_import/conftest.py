"""Import/export and records-API tests on the real stack: the migrated database
(SQLite, or PostgreSQL with TEST_DATABASE_URL), the emulator minting real tokens."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.crm.import_batches import import_file
from server.crm.models import Company, Contact
from server.db import Database
from tests.api.conftest import (  # noqa: F401  (fixtures shared with the API tests)
    ADELE, CLIENT_ID, CONTOSO, FABRIKAM, MEGAN, PAT, app, clean_state, client, crm, database_url, pane,
)


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


@pytest.fixture
def importer(app, clean_state):
    """`importer(path, tenant=CONTOSO, **kw)` -> ImportSummary, through the importer itself."""
    factory = Database.state(app).session_factory

    def run(path, tenant: str = CONTOSO, **kw):
        return import_file(factory, tenant, path, **kw)
    return run


@pytest.fixture
def cli(app, clean_state):
    """`cli("crm", "import", ...)` -> click Result of `flask --app server ...`."""
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=list(map(str, args)))
    return run


@pytest.fixture
def snapshot(app):
    """`snapshot(tenant)` -> (contacts, companies) as plain, comparable data."""
    def take(tenant: str = CONTOSO):
        with Database.state(app).session_factory() as session:
            contacts = session.scalars(
                select(Contact).where(Contact.tenant_id == tenant, Contact.deleted_at.is_(None))
                .options(selectinload(Contact.emails), selectinload(Contact.company))).all()
            companies = session.scalars(select(Company).where(Company.tenant_id == tenant)).all()
            people = sorted(
                (c.first_name, c.last_name, c.display_name, tuple(c.addresses), c.job_title,
                 c.business_phone, c.mobile_phone, c.company.name if c.company else None)
                for c in contacts)
            firms = sorted((c.name, tuple(c.domains or [])) for c in companies)
            return people, firms
    return take


def contacts_of(session, tenant: str = CONTOSO) -> list[Contact]:
    session.expire_all()
    return session.scalars(
        select(Contact).where(Contact.tenant_id == tenant, Contact.deleted_at.is_(None))
        .options(selectinload(Contact.emails), selectinload(Contact.company)).order_by(Contact.id)).all()


def emulator_signing_key(emulator):
    return serialization.load_pem_private_key((emulator.state_dir / "signing-key.pem").read_bytes(),
                                              password=None)


def app_only_token(emulator, tid: str, roles=("Crm.ReadWrite.All",), **changes) -> str:
    """An app-only token for OUR API, as Entra ID would issue an integration's daemon
    (client credentials, scope api://.../.default). The emulator only mints app-only
    tokens for Graph, so this one is signed with the emulator's own key."""
    now = int(time.time())
    integration = "5d2b8c1e-7f3a-4e69-b0d4-9a1c6e2f8b37"
    claims = {
        "aud": f"api://localhost:5000/{CLIENT_ID}", "iss": f"{emulator.base_url}/{tid}/", "ver": "1.0",
        "tid": tid, "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{integration}/{tid}")),
        "appid": integration, "appidacr": "1", "idtyp": "app", "roles": list(roles),
        "iat": now - 10, "nbf": now - 10, "exp": now + 3600,
    }
    claims.update(changes)
    kid = jwt.get_unverified_header(emulator.pane_token(ADELE))["kid"]
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, emulator_signing_key(emulator),
                      algorithm="RS256", headers={"kid": kid})
