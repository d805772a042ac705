"""page_sessions: the CRM pages' sign-in sessions kept on the server (the cookie holds
only a random id, this table its hash), so that signing out, an admin, removing the
user or Entra refusing the sign-in ends them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 06:30:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.crm.types import UTCDateTime

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _id():
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'page_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', _id(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('checked_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.Column('revoked_reason', sa.String(length=32), nullable=True),
        sa.Column('user_agent', sa.String(length=256), nullable=False),
        sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('refresh_token', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_page_sessions_tenant_id_tenants'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_page_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_page_sessions')),
    )
    op.create_index('ix_page_sessions_user', 'page_sessions', ['tenant_id', 'user_id', 'expires_at'], unique=False)
    op.create_index('ix_page_sessions_expires_at', 'page_sessions', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_page_sessions_expires_at', table_name='page_sessions')
    op.drop_index('ix_page_sessions_user', table_name='page_sessions')
    op.drop_table('page_sessions')
