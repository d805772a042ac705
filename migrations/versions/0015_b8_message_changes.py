"""message_changes: change notifications not yet acted on, one row per mailbox and
message, so that one job per mailbox reads and marks all of them together in $batch
and a message notified twice is handled once

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:20:00
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.types import UTCDateTime

revision: str = "0015"
down_revision: Union[str, None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _id():
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_changes",
        sa.Column("id", _id(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("graph_id", sa.String(length=512), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("noted_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_message_changes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_message_changes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_changes")),
        sa.UniqueConstraint("user_id", "graph_id", name=op.f("uq_message_changes_user_id_graph_id")),
    )


def downgrade() -> None:
    op.drop_table("message_changes")
