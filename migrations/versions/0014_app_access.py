"""users.app_access_refused_at / app_access_checked_at: when Microsoft 365 last refused
the app's app-only access to the user's mailbox (Exchange's RBAC for Applications or an
application access policy leaves it out of scope; NULL while it is allowed), and when
that was last checked; automatic sync leaves such a mailbox alone until a re-check
finds it allowed again

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 06:40:00
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.types import UTCDateTime

revision: str = "0014"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('users', sa.Column('app_access_refused_at', UTCDateTime(), nullable=True))
    op.add_column('users', sa.Column('app_access_checked_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    # In place, not in batch mode: SQLite (3.35+) drops a column itself, where batch mode
    # would copy `users` and drop the old table, which sets every reference to a user
    # (ON DELETE SET NULL: who made a conversation link or sharing rule) to NULL.
    op.drop_column('users', 'app_access_checked_at')
    op.drop_column('users', 'app_access_refused_at')
