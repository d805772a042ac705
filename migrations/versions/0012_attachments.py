"""attachments: each filed email's attachments (name, type, size, state: stored, too
large, pending, link) and their content, stored once per tenant by SHA-256 in chunks

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 06:30:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.types import UTCDateTime

revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _id():
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _tenant(table: str):
    return sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                   name=op.f(f'fk_{table}_tenant_id_tenants'), ondelete='CASCADE')


def upgrade() -> None:
    op.create_table(
        'email_attachments',
        sa.Column('id', _id(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('email_id', _id(), nullable=False),
        sa.Column('graph_id', sa.String(length=512), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=512), nullable=False),
        sa.Column('content_type', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('inline', sa.Boolean(), nullable=False),
        sa.Column('content_id', sa.String(length=512), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('link_url', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('file', 'item', 'reference')", name=op.f('ck_email_attachments_kind')),
        sa.CheckConstraint("state IN ('stored', 'too_large', 'pending', 'link')",
                           name=op.f('ck_email_attachments_state')),
        sa.ForeignKeyConstraint(['email_id'], ['emails.id'],
                                name=op.f('fk_email_attachments_email_id_emails'), ondelete='CASCADE'),
        _tenant('email_attachments'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_attachments')),
        sa.UniqueConstraint('email_id', 'graph_id', name=op.f('uq_email_attachments_email_id_graph_id')),
    )
    op.create_index('ix_email_attachments_tenant_sha256', 'email_attachments', ['tenant_id', 'sha256'], unique=False)
    op.create_index('ix_email_attachments_tenant_state', 'email_attachments', ['tenant_id', 'state', 'id'],
                    unique=False)
    op.create_table(
        'attachment_blobs',
        sa.Column('id', _id(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        _tenant('attachment_blobs'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_blobs')),
        sa.UniqueConstraint('tenant_id', 'sha256', name=op.f('uq_attachment_blobs_tenant_id_sha256')),
    )
    op.create_table(
        'attachment_chunks',
        sa.Column('id', _id(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('blob_id', _id(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['blob_id'], ['attachment_blobs.id'],
                                name=op.f('fk_attachment_chunks_blob_id_attachment_blobs'), ondelete='CASCADE'),
        _tenant('attachment_chunks'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_chunks')),
        sa.UniqueConstraint('blob_id', 'seq', name=op.f('uq_attachment_chunks_blob_id_seq')),
    )


def downgrade() -> None:
    op.drop_table('attachment_chunks')
    op.drop_table('attachment_blobs')
    op.drop_index('ix_email_attachments_tenant_state', table_name='email_attachments')
    op.drop_index('ix_email_attachments_tenant_sha256', table_name='email_attachments')
    op.drop_table('email_attachments')
