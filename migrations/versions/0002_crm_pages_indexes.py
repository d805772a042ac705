"""indexes behind the CRM pages: lower-case prefix search on names, subjects and
titles, and (tenant, id) keyset lists of cases and tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00
"""
from __future__ import annotations

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SUBJECT_KEY_LENGTH = 200  # server.crm.models.SUBJECT_KEY_LENGTH when this was written


def upgrade() -> None:
    op.create_index('ix_contacts_tenant_first_name_lower', 'contacts',
                    ['tenant_id', sa.text('lower(first_name)')], unique=False)
    op.create_index('ix_contacts_tenant_last_name_lower', 'contacts',
                    ['tenant_id', sa.text('lower(last_name)')], unique=False)
    op.create_index('ix_contacts_tenant_display_name_lower', 'contacts',
                    ['tenant_id', sa.text('lower(display_name)')], unique=False)
    op.create_index('ix_emails_tenant_subject_key', 'emails',
                    ['tenant_id', sa.text(f'lower(substr(subject, 1, {SUBJECT_KEY_LENGTH}))')], unique=False)
    op.create_index('ix_cases_tenant_title_lower', 'cases', ['tenant_id', sa.text('lower(title)')], unique=False)
    op.create_index('ix_cases_tenant_id', 'cases', ['tenant_id', 'id'], unique=False)
    op.create_index('ix_tasks_tenant_title_lower', 'tasks', ['tenant_id', sa.text('lower(title)')], unique=False)
    op.create_index('ix_tasks_tenant_id', 'tasks', ['tenant_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_tenant_id', table_name='tasks')
    op.drop_index('ix_tasks_tenant_title_lower', table_name='tasks')
    op.drop_index('ix_cases_tenant_id', table_name='cases')
    op.drop_index('ix_cases_tenant_title_lower', table_name='cases')
    op.drop_index('ix_emails_tenant_subject_key', table_name='emails')
    op.drop_index('ix_contacts_tenant_display_name_lower', table_name='contacts')
    op.drop_index('ix_contacts_tenant_last_name_lower', table_name='contacts')
    op.drop_index('ix_contacts_tenant_first_name_lower', table_name='contacts')
