"""sync_jobs: background jobs' progress, resumable cursors and failures, shared by
web processes and workers (in-process or RQ)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:15:00
"""
from __future__ import annotations

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from server.crm.types import UTCDateTime

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def _id():
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'sync_jobs',
        sa.Column('id', _id(), nullable=False),
        sa.Column('key', sa.String(length=512), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=True),
        sa.Column('user_id', _id(), nullable=True),
        sa.Column('params', _json(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('rerun', sa.Boolean(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('cursor', _json(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('requested_at', UTCDateTime(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('heartbeat_at', UTCDateTime(), nullable=True),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'retrying', 'done', 'failed')",
                           name=op.f('ck_sync_jobs_state')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_jobs_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_jobs_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_jobs')),
        sa.UniqueConstraint('key', name=op.f('uq_sync_jobs_key')),
    )
    op.create_index('ix_sync_jobs_state', 'sync_jobs', ['state', 'heartbeat_at'], unique=False)
    op.create_index('ix_sync_jobs_user', 'sync_jobs', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sync_jobs_user', table_name='sync_jobs')
    op.drop_index('ix_sync_jobs_state', table_name='sync_jobs')
    op.drop_table('sync_jobs')
