"""Which mailboxes get change notifications and delta rounds: every user who has used
the add-in (who has a users row), whatever their automatic-sync setting.

The category command ("Sync to CRM" / "Don't sync to CRM" put on a message in any
Outlook) is the user's own explicit command, not automatic sync, so it must work under
the default setting (off) too. A mailbox is still only read for its owner's own
commands and settings: with automatic sync off, what is filed is decided by the
categories the owner put on their messages, the sharing rules the owner made and the
conversations the owner linked (automatic.py `decide`, rules.py), nothing else. Nothing
a colleague makes (a sharing rule, a conversation link) adds a mailbox here, queues a
catch-up of it, or files any of its mail.

A mailbox the organisation keeps the app out of (app_access.py: Exchange's RBAC for
Applications or an application access policy refused it) is not watched: nothing is
queued for it until a check finds it allowed again.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.crm.models import User
from server.sync.mailbox import Mailbox

BATCH = 500


def watches(mailbox: Mailbox) -> bool:
    """Whether this mailbox needs notifications and delta rounds: always, for a CRM user
    (the category command works whatever the automatic-sync setting), unless the
    organisation keeps the app out of it."""
    return mailbox.me is not None and mailbox.me.app_access_refused_at is None


def subscriptions_key(user: User) -> str:
    """The job key of a user's `subscriptions` job (subscriptions.py), one per user."""
    return f"subscriptions:{user.id}"


def watched_users(session: Session, tenant_id: str | None = None) -> Iterator[User]:
    """Every CRM user (of one tenant, when given) whose mailbox the app may open, read in batches."""
    last = 0
    while True:
        query = select(User).where(User.id > last, User.app_access_refused_at.is_(None)).order_by(User.id).limit(BATCH)
        if tenant_id is not None:
            query = query.where(User.tenant_id == tenant_id)
        users = session.scalars(query).all()
        if not users:
            return
        for user in users:
            last = user.id
            yield user
