"""folded search keys: contacts' first, last and display names and companies' names
stored case- and accent-free (server.crm.folding.fold), each with an index, so
"dvorak" finds "Dvořák" by an index range scan; they replace the lower(name)
indexes of contacts. Existing rows are backfilled in Python, in batches, since SQL
has no portable unaccent.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 04:40:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from server.crm.folding import fold_key

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 2000

# table -> [(folded key column, source column, length)]
KEYS = {
    'contacts': [
        ('first_name_fold', 'first_name', 256),
        ('last_name_fold', 'last_name', 256),
        ('display_name_fold', 'display_name', 512),
    ],
    'companies': [('name_fold', 'name', 256)],
}
INDEXES = [
    ('ix_contacts_tenant_first_name_fold', 'contacts', 'first_name_fold'),
    ('ix_contacts_tenant_last_name_fold', 'contacts', 'last_name_fold'),
    ('ix_contacts_tenant_display_name_fold', 'contacts', 'display_name_fold'),
    ('ix_companies_tenant_name_fold', 'companies', 'name_fold'),
]
LOWER_INDEXES = [
    ('ix_contacts_tenant_first_name_lower', 'first_name'),
    ('ix_contacts_tenant_last_name_lower', 'last_name'),
    ('ix_contacts_tenant_display_name_lower', 'display_name'),
]


def _key_type(length: int):
    return sa.String(length).with_variant(sa.String(length, collation='C'), 'postgresql')


def _backfill(table_name: str, keys: list[tuple[str, str, int]]) -> None:
    """Every row's folded keys, computed here in Python, BATCH rows at a time by id."""
    table = sa.table(table_name, sa.column('id'), *(sa.column(c) for k in keys for c in k[:2]))
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam('row_id'))
        .values({key: sa.bindparam(f'new_{key}') for key, _, _ in keys})
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, *(table.c[source] for _, source, _ in keys))
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            update,
            [
                {'row_id': row[0], **{f'new_{key}': fold_key(value, length) for (key, _, length), value in zip(keys, row[1:])}}
                for row in rows
            ],
        )
        last = rows[-1][0]


def upgrade() -> None:
    for name, _ in LOWER_INDEXES:
        op.drop_index(name, table_name='contacts')
    for table_name, keys in KEYS.items():
        for key, _, length in keys:
            op.add_column(table_name, sa.Column(key, _key_type(length), server_default='', nullable=False))
        _backfill(table_name, keys)
    for name, table_name, key in INDEXES:
        op.create_index(name, table_name, ['tenant_id', key], unique=False)


def downgrade() -> None:
    for name, table_name, _ in INDEXES:
        op.drop_index(name, table_name=table_name)
    # A plain DROP COLUMN (SQLite has it since 3.35): batch mode would copy the table,
    # and dropping the old contacts table would cascade to its addresses.
    for table_name, keys in KEYS.items():
        for key, _, _ in keys:
            op.drop_column(table_name, key)
    for name, column in LOWER_INDEXES:
        op.create_index(name, 'contacts', ['tenant_id', sa.text(f'lower({column})')], unique=False)
