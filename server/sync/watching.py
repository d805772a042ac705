"""Which mailboxes automatic sync watches: those that get change notifications and
delta rounds (automatic sync on, a sharing rule, or a linked conversation)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.crm.models import ConversationLink, SharingRule, Tenant, User
from server.sync.mailbox import Mailbox


def watches(mailbox: Mailbox) -> bool:
    """Whether this mailbox needs notifications and delta rounds at all."""
    if (mailbox.settings().get("auto_sync") or "off") != "off":
        return True
    return has_rules_or_conversations(mailbox.session, mailbox.tenant_id, mailbox.user.id)


def has_rules_or_conversations(session, tenant_id: str, user_id: int) -> bool:
    rule = session.scalar(
        select(SharingRule.id).where(SharingRule.tenant_id == tenant_id, SharingRule.user_id == user_id).limit(1)
    )
    if rule is not None:
        return True
    return (
        session.scalar(select(ConversationLink.id).where(ConversationLink.tenant_id == tenant_id).limit(1)) is not None
    )


def watched_users(session: Session, tenant_id: str | None = None) -> Iterator[User]:
    """Users (of one tenant, when given) with automatic sync on (their own or their
    tenant's default), a sharing rule, or in a tenant with linked conversations."""

    def of_tenant(query, column):
        return query if tenant_id is None else query.where(column == tenant_id)

    with_rules = set(session.scalars(of_tenant(select(SharingRule.user_id), SharingRule.tenant_id).distinct()))
    tenants_with_conversations = set(
        session.scalars(of_tenant(select(ConversationLink.tenant_id), ConversationLink.tenant_id).distinct())
    )
    tenants = {t.id: t for t in session.scalars(of_tenant(select(Tenant), Tenant.id))}
    last = 0
    while True:
        users = session.scalars(
            of_tenant(select(User), User.tenant_id).where(User.id > last).order_by(User.id).limit(500)
        ).all()
        if not users:
            return
        for user in users:
            last = user.id
            mode = user.effective_settings(tenants.get(user.tenant_id) or user.tenant).get("auto_sync")
            if (mode or "off") != "off" or user.id in with_rules or user.tenant_id in tenants_with_conversations:
                yield user
