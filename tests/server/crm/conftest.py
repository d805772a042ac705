"""The importer and exporter's fixtures, on the backend the pane calls: the importer
itself, the `flask crm` commands, and a comparable snapshot of a tenant's records."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.crm.import_batches import import_file
from server.crm.models import Company, Contact
from server.db import Database
from tests.support.identities import CONTOSO


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
                select(Contact)
                .where(Contact.tenant_id == tenant, Contact.deleted_at.is_(None))
                .options(selectinload(Contact.emails), selectinload(Contact.company))
            ).all()
            companies = session.scalars(select(Company).where(Company.tenant_id == tenant)).all()
            people = sorted(
                (
                    c.first_name,
                    c.last_name,
                    c.display_name,
                    tuple(c.addresses),
                    c.job_title,
                    c.business_phone,
                    c.mobile_phone,
                    c.company.name if c.company else None,
                )
                for c in contacts
            )
            firms = sorted((c.name, tuple(c.domains or [])) for c in companies)
            return people, firms

    return take
