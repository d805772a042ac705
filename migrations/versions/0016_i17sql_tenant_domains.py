"""tenants.domains: the domains of the tenant's users' addresses, kept on the tenant's
row as users' addresses grow, so telling the tenant's own people from outsiders reads
no users (the pane did it on every open and sync); filled here from today's users

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.crm.addresses import normalise_address

revision: str = "0016"
down_revision: Union[str, None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("domains", _json(), nullable=True))
    tenants = sa.table("tenants", sa.column("id", sa.String()), sa.column("domains", _json()))
    users = sa.table(
        "users", sa.column("tenant_id", sa.String()), sa.column("addresses", _json()), sa.column("upn", sa.String())
    )
    connection = op.get_bind()
    found: dict[str, set[str]] = {tid: set() for (tid,) in connection.execute(sa.select(tenants.c.id))}
    for tenant_id, addresses, upn in connection.execute(sa.select(users.c.tenant_id, users.c.addresses, users.c.upn)):
        for raw in [*(addresses or []), upn]:
            address = normalise_address(raw or "")
            if address:
                found.setdefault(tenant_id, set()).add(address.rpartition("@")[2])
    for tenant_id, domains in found.items():
        connection.execute(tenants.update().where(tenants.c.id == tenant_id).values(domains=sorted(domains)))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("domains")
