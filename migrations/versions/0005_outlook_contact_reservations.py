"""outlook_contact_reservations: one Outlook contact per (user, address) when two
"Create Outlook contact" calls race, since Graph has no unique key

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.types import UTCDateTime

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _id():
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'outlook_contact_reservations',
        sa.Column('id', _id(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', _id(), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('holder', sa.String(length=32), nullable=False),
        sa.Column('outlook_contact_id', sa.String(length=512), nullable=True),
        sa.Column('reserved_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_outlook_contact_reservations_tenant_id_tenants'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_outlook_contact_reservations_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outlook_contact_reservations')),
        sa.UniqueConstraint('tenant_id', 'user_id', 'address',
                            name=op.f('uq_outlook_contact_reservations_tenant_id_user_id_address')),
    )


def downgrade() -> None:
    op.drop_table('outlook_contact_reservations')
