"""conversation links and sharing rules belong to the user who made them, and file only
that user's own mailbox.

conversation_links: the unique key gains `created_by_id`, so that each user can link
the same conversation to the same record as their own link (until now a colleague's
second link was silently dropped onto the first maker's row, and that one row filed
every mailbox of the tenant). Automatic sync now applies a link to its maker's mailbox
only (server/sync/rules.py).

Existing links keep the maker already stored in `created_by_id`: the route has always
recorded who made a link, and that user is the one who asked for it. A link without a
maker (its maker was removed, which sets the column to NULL) is applied to NOBODY,
rather than to the mailbox of the user who filed the email it was made from: the link
does not record which email that was, any of the conversation's emails may have been
filed by several mailboxes, and guessing would read a mailbox whose owner never asked
for it. Such a link stays listed, and its emails already linked keep their links;
anyone who wants its conversation's new mail filed makes their own link (the pane
suggests it).

sharing_rules: a rule has always been made by its mailbox's owner (the only route
makes one for the caller's own mailbox, with `created_by_id` = `user_id`); rules with
no `created_by_id` get their `user_id`, so that the new check (maker = mailbox owner)
keeps them working.

Downgrade puts the old unique key back, keeping the oldest link of each
(conversation, record) where several users linked the same.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 06:30:00
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_KEY = "uq_conversation_links_tenant_id_conversation_id_target_type_target_id"
NEW_KEY = "uq_conversation_links_maker_target"


def upgrade() -> None:
    with op.batch_alter_table("conversation_links") as batch:
        batch.drop_constraint(op.f(OLD_KEY), type_="unique")
        batch.create_unique_constraint(
            NEW_KEY, ["tenant_id", "conversation_id", "created_by_id", "target_type", "target_id"]
        )
    rules = sa.table("sharing_rules", sa.column("user_id"), sa.column("created_by_id"))
    op.execute(sa.update(rules).where(rules.c.created_by_id.is_(None)).values(created_by_id=rules.c.user_id))


def downgrade() -> None:
    links = sa.table(
        "conversation_links",
        sa.column("id"),
        sa.column("tenant_id"),
        sa.column("conversation_id"),
        sa.column("target_type"),
        sa.column("target_id"),
    )
    older = links.alias("older")
    op.execute(
        sa.delete(links).where(
            sa.exists().where(
                older.c.tenant_id == links.c.tenant_id,
                older.c.conversation_id == links.c.conversation_id,
                older.c.target_type == links.c.target_type,
                older.c.target_id == links.c.target_id,
                older.c.id < links.c.id,
            )
        )
    )
    with op.batch_alter_table("conversation_links") as batch:
        batch.drop_constraint(NEW_KEY, type_="unique")
        batch.create_unique_constraint(op.f(OLD_KEY), ["tenant_id", "conversation_id", "target_type", "target_id"])
