"""audit_entries: the audit log (who did what, when, from where, before and after),
append only: besides the app never changing an entry, the database refuses any
UPDATE of one (a trigger on SQLite and on PostgreSQL). DELETE is left to the ORM's
refusal (server/crm/audit.py), so a tenant removed from the database takes its log
with it and a test database can still be emptied.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 06:30:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.types import UTCDateTime

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

REFUSAL = 'audit entries are never changed'


def _id():
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _json():
    return sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'audit_entries',
        sa.Column('id', _id(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('actor_user_id', _id(), nullable=True),
        sa.Column('actor_name', sa.String(length=256), nullable=False),
        sa.Column('actor_upn', sa.String(length=320), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target_type', sa.String(length=32), nullable=True),
        sa.Column('target_id', sa.String(length=64), nullable=True),
        sa.Column('before', _json(), nullable=True),
        sa.Column('after', _json(), nullable=True),
        sa.Column('client_address', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_audit_entries_tenant_id_tenants'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    )
    op.create_index('ix_audit_entries_tenant', 'audit_entries', ['tenant_id', 'id'], unique=False)
    op.create_index('ix_audit_entries_tenant_action', 'audit_entries', ['tenant_id', 'action', 'id'], unique=False)
    op.create_index('ix_audit_entries_tenant_actor', 'audit_entries', ['tenant_id', 'actor_user_id', 'id'],
                    unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE ON audit_entries "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )


def downgrade() -> None:
    op.execute('DROP TRIGGER IF EXISTS audit_entries_append_only' +
               (' ON audit_entries' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS audit_entries_append_only()')
    op.drop_index('ix_audit_entries_tenant_actor', table_name='audit_entries')
    op.drop_index('ix_audit_entries_tenant_action', table_name='audit_entries')
    op.drop_index('ix_audit_entries_tenant', table_name='audit_entries')
    op.drop_table('audit_entries')
