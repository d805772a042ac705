"""The migration that keeps each tenant's own domains on its row fills them in from the
users already there (their addresses and UPN, normalised; each tenant its own), and
goes back down cleanly."""

from __future__ import annotations

import json

from sqlalchemy import text

from server import migrate
from server.db import make_engine

STAMP = "2026-01-01 00:00:00+00:00"
BEFORE = "0015"


def test_each_tenants_domains_are_filled_in_from_its_users(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url, BEFORE)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO tenants (id, name, settings, created_at) VALUES (:id, '', '{}', :now)"),
                    [{"id": "t1", "now": STAMP}, {"id": "t2", "now": STAMP}, {"id": "t3", "now": STAMP}],
                )
                conn.execute(
                    text(
                        "INSERT INTO users (id, tenant_id, oid, upn, display_name, addresses, settings, created_at) "
                        "VALUES (:id, :tenant, :oid, :upn, '', :addresses, '{}', :now)"
                    ),
                    [
                        {"id": 1, "tenant": "t1", "oid": "o1", "upn": "A@One.Example", "addresses": "[]", "now": STAMP},
                        {
                            "id": 2,
                            "tenant": "t1",
                            "oid": "o2",
                            "upn": "",
                            "addresses": json.dumps(["b@one.example", "b@Alias.Example", "no address"]),
                            "now": STAMP,
                        },
                        {"id": 3, "tenant": "t2", "oid": "o3", "upn": "c@two.example", "addresses": "[]", "now": STAMP},
                    ],
                )
            migrate.upgrade(url)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, domains FROM tenants ORDER BY id")).all()
            found = {tid: json.loads(d) if isinstance(d, str) else d for tid, d in rows}
            assert found == {"t1": ["alias.example", "one.example"], "t2": ["two.example"], "t3": []}

            migrate.downgrade(url, BEFORE)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM tenants")).scalar() == 3
        finally:
            engine.dispose()
