"""users.restrictions: an administrator's limits on what one user's mailbox files
(automatic sync no wider than a mode, companies not linked, more never-sync entries).
They only narrow: the user's own choice in users.settings, or the tenant's default,
is what turns filing on.

Until now an administrator's per-user override and the user's own choice were stored
alike in users.settings, so an override could widen what a mailbox files. Which of
the stored automatic-sync values the user chose cannot be told any more; a value
wider than the tenant's default is dropped (the user falls back to the default and
can choose again in the pane), since a mailbox is read only on its owner's choice.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 06:40:00
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MODES = ("off", "marked", "known_contacts")  # narrowest first
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _drop_wider_choices() -> None:
    """Removes each stored per-user automatic-sync value wider than its tenant's default."""
    tenants = sa.table("tenants", sa.column("id"), sa.column("settings", JSON))
    users = sa.table("users", sa.column("id"), sa.column("tenant_id"), sa.column("settings", JSON))
    conn = op.get_bind()
    defaults = {tid: (settings or {}).get("auto_sync") or "off" for tid, settings in conn.execute(sa.select(tenants))}
    for user_id, tenant_id, settings in conn.execute(sa.select(users.c.id, users.c.tenant_id, users.c.settings)):
        chosen = (settings or {}).get("auto_sync")
        default = defaults.get(tenant_id, "off")
        if chosen in MODES and default in MODES and MODES.index(chosen) > MODES.index(default):
            kept = {k: v for k, v in settings.items() if k != "auto_sync"}
            conn.execute(sa.update(users).where(users.c.id == user_id).values(settings=kept))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("restrictions", JSON, nullable=False, server_default=sa.text("'{}'")))
    _drop_wider_choices()


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("restrictions")
