"""contact_changes: the history of a contact, every field that a sync, an import,
the API or a page changed, with the old and new value, who and when

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 04:40:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.types import UTCDateTime

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _id():
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'contact_changes',
        sa.Column('id', _id(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('contact_id', _id(), nullable=False),
        sa.Column('field', sa.String(length=32), nullable=False),
        sa.Column('old_value', sa.Text(), nullable=True),
        sa.Column('new_value', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('user_id', _id(), nullable=True),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('changed_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('outlook', 'import', 'api', 'page')", name=op.f('ck_contact_changes_source')),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_contact_changes_contact_id_contacts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_contact_changes_tenant_id_tenants'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_contact_changes_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_changes')),
    )
    op.create_index('ix_contact_changes_tenant_contact', 'contact_changes',
                    ['tenant_id', 'contact_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contact_changes_tenant_contact', table_name='contact_changes')
    op.drop_table('contact_changes')
