"""users.addresses_checked_at: when the user's own addresses were last read from Graph

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:20:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.types import UTCDateTime

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('addresses_checked_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('addresses_checked_at')
