"""Change notifications as Graph sends them, for subscriptions written straight into the
database (no subscription in the emulator, so only the test decides what is notified)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from server.crm.models import Subscription, User
from server.crm.types import utcnow
from server.sync.subscriptions import hash_client_state


def watch_inbox(session: Session, user: User, secret: str | None = None) -> tuple[str, str]:
    """A stored Inbox subscription of `user`, as the server keeps one; returns (its
    id, its clientState). Commits."""
    secret = secret or secrets.token_urlsafe(32)
    subscription_id = f"test-inbox-{secrets.token_hex(8)}"
    session.add(
        Subscription(
            tenant_id=user.tenant_id,
            user_id=user.id,
            subscription_id=subscription_id,
            resource=f"users/{user.oid}/mailFolders('inbox')/messages",
            folder="inbox",
            client_state_hash=hash_client_state(secret),
            expires_at=utcnow() + timedelta(days=2),
        )
    )
    session.commit()
    return subscription_id, secret


def created(subscription: tuple[str, str], tenant_id: str, message_id: str) -> dict:
    """One "created" change notification for `message_id` (Graph's shape)."""
    subscription_id, secret = subscription
    return {
        "subscriptionId": subscription_id,
        "clientState": secret,
        "changeType": "created",
        "resource": f"Users/x/Messages/{message_id}",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "id": message_id},
        "tenantId": tenant_id,
        "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
    }
