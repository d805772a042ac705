"""Change-notification subscriptions on each watched mailbox's Inbox and Sent Items.

Each subscription gets its own `clientState` secret (256 random bits). Only its
SHA-256 is stored, and notifications are checked against it in constant time, so the
database alone cannot forge a notification. The webhook (routes/notifications.py)
and the lifecycle endpoint are at NOTIFICATION_BASE_URL (default PUBLIC_BASE_URL).

Upkeep (`schedule_upkeep`, hourly): renew subscriptions that expire within
RENEW_BEFORE, create missing ones for watched mailboxes, delete those of mailboxes
no longer watched. Every CRM user is watched (watching.py): the category command works
whatever the automatic-sync setting, so switching automatic sync off keeps the
subscriptions. A settings change does not wait for the upkeep (`follow_settings`): a
user's own change queues that user's `subscriptions` job, a change of the tenant's
defaults queues the same upkeep for that tenant's users at once; and switching
automatic sync on queues a catch-up round, which files the messages waiting as
`pending` (marked unsynced) at once. Lifecycle events:
`reauthorizationRequired` renews, `subscriptionRemoved` creates it again, `missed`
runs a delta catch-up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.crm.models import Subscription, User
from server.crm.types import utcnow
from server.db import Database
from server.graph.errors import NotFound
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.jobs.schedule import periodic
from server.sync.app_access import is_refused, mailbox_job
from server.sync.delta import catch_up, enqueue_catch_up
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import job_mailbox
from server.sync.watching import subscriptions_key, watched_users, watches

FOLDERS = ("inbox", "sentitems")
# Graph refuses a longer clientState when subscribing, so a longer one is forged.
MAX_CLIENT_STATE = 128
# Outlook messages allow 4230 minutes; a little less leaves room for clock skew.
LIFETIME = timedelta(minutes=4200)
RENEW_BEFORE = timedelta(hours=24)
SUBSCRIPTION_UPKEEP_S = 3600
NOTIFICATIONS_PATH = "/api/v1/notifications"
LIFECYCLE_PATH = "/api/v1/notifications/lifecycle"


def hash_client_state(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def plausible_client_state(value) -> bool:
    """Whether a notification's clientState could be one of ours at all (no lookup)."""
    return isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_STATE


def client_state_matches(subscription: Subscription, value: str | None) -> bool:
    """Constant-time check of a notification's clientState."""
    if not plausible_client_state(value):
        return False
    return hmac.compare_digest(hash_client_state(value), subscription.client_state_hash)


def _urls(config) -> tuple[str, str]:
    base = str(config["NOTIFICATION_BASE_URL"]).rstrip("/")
    return base + NOTIFICATIONS_PATH, base + LIFECYCLE_PATH


def create_subscription(mailbox: Mailbox, folder: str, config) -> Subscription:
    """Subscribes to created/updated messages of one folder (replacing any
    subscription we had there). Raises GraphError (e.g. the handshake failed)."""
    notification_url, lifecycle_url = _urls(config)
    secret = secrets.token_urlsafe(32)
    resource = mailbox.graph.messages_resource(folder)
    expires = utcnow() + LIFETIME
    created = mailbox.graph.create_subscription(
        resource,
        notification_url=notification_url,
        client_state=secret,
        expiration=expires,
        change_type="created,updated",
        lifecycle_notification_url=lifecycle_url,
    )
    remove_subscriptions(mailbox, folders=(folder,))
    row = Subscription(
        tenant_id=mailbox.tenant_id,
        user_id=mailbox.me.id,
        subscription_id=created["id"],
        resource=resource,
        folder=folder,
        client_state_hash=hash_client_state(secret),
        expires_at=expires,
    )
    mailbox.session.add(row)
    mailbox.session.commit()
    return row


def renew_subscription(mailbox: Mailbox, row: Subscription, config) -> Subscription:
    """Extends a subscription; one Graph no longer has is created again."""
    expires = utcnow() + LIFETIME
    try:
        mailbox.graph.renew_subscription(row.subscription_id, expires)
    except NotFound:
        return create_subscription(mailbox, row.folder, config)
    row.expires_at = expires
    mailbox.session.commit()
    return row


def subscriptions_of(session: Session, user: User) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription).where(Subscription.tenant_id == user.tenant_id, Subscription.user_id == user.id)
        )
    )


def ensure_subscriptions(mailbox: Mailbox, config) -> list[Subscription]:
    """Watched mailbox: a live subscription on each folder. Not watched: none."""
    if not watches(mailbox):
        remove_subscriptions(mailbox)
        return []
    mailbox.graph.ensure_categories()
    have = {row.folder: row for row in subscriptions_of(mailbox.session, mailbox.me)}
    result = []
    for folder in FOLDERS:
        row = have.get(folder)
        if row is None:
            result.append(create_subscription(mailbox, folder, config))
        elif row.expires_at - utcnow() < RENEW_BEFORE:
            result.append(renew_subscription(mailbox, row, config))
        else:
            result.append(row)
    return result


def remove_subscriptions(mailbox: Mailbox, folders=None) -> int:
    rows = [r for r in subscriptions_of(mailbox.session, mailbox.me) if folders is None or r.folder in folders]
    for row in rows:
        mailbox.graph.delete_subscription(row.subscription_id)
        mailbox.session.execute(delete(Subscription).where(Subscription.id == row.id))
    mailbox.session.commit()
    return len(rows)


# -- jobs -------------------------------------------------------------------------------


@job("subscriptions")
@mailbox_job
def subscriptions_job(ctx: JobContext) -> None:
    """Brings one user's subscriptions in line with their settings; a job of a whole
    tenant (no user: its defaults changed) queues the upkeep of its users."""
    if ctx.job.user_id is None:
        count = schedule_upkeep(ctx.app, tenant_id=ctx.job.tenant_id)
        if ctx.params.get("catch_up"):
            count += catch_up_users_with_auto_sync(ctx.app, ctx.job.tenant_id)
        ctx.progress(done=count, total=count)
        return
    mailbox = job_mailbox(ctx)
    if mailbox is not None:
        ensure_subscriptions(mailbox, ctx.app.config)


@job("lifecycle")
@mailbox_job
def lifecycle_job(ctx: JobContext) -> None:
    """Acts on a lifecycle event of one of our subscriptions."""
    params = ctx.params
    row = ctx.session.scalar(select(Subscription).where(Subscription.subscription_id == params["subscription_id"]))
    mailbox = job_mailbox(ctx)
    if mailbox is None:
        return
    event = params["event"]
    if event == "missed":
        folders = (row.folder,) if row is not None else FOLDERS
        catch_up(mailbox, folders)
    elif event == "reauthorizationRequired" and row is not None:
        renew_subscription(mailbox, row, ctx.app.config)
    elif event == "subscriptionRemoved":
        folder = row.folder if row is not None else params.get("folder")
        if folder and watches(mailbox):
            create_subscription(mailbox, folder, ctx.app.config)


def enqueue_subscriptions(app: Flask, user: User) -> int:
    return enqueue("subscriptions", {}, key=subscriptions_key(user), tenant_id=user.tenant_id, user_id=user.id, app=app)


def enqueue_lifecycle(app: Flask, row: Subscription, event: str) -> int:
    """Queues the `lifecycle` job of one event of one subscription."""
    return enqueue(
        "lifecycle",
        {"subscription_id": row.subscription_id, "event": event, "folder": row.folder},
        key=f"lifecycle:{row.subscription_id}:{event}",
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        app=app,
    )


def enqueue_tenant_upkeep(app: Flask, tenant_id: str, catch_up: bool = False) -> int:
    return enqueue(
        "subscriptions",
        {"catch_up": True} if catch_up else {},
        key=f"subscriptions:tenant:{tenant_id}",
        tenant_id=tenant_id,
        app=app,
    )


def catch_up_users_with_auto_sync(app: Flask, tenant_id: str) -> int:
    """Queues a catch-up round for each user of the tenant whose automatic sync is on
    (their own setting or now the tenant's): their waiting messages get filed now."""
    count = 0
    with Database.state(app).session_factory() as session:
        for user in watched_users(session, tenant_id):
            if (user.effective_settings().get("auto_sync") or "off") != "off":
                enqueue_catch_up(app, user)
                count += 1
    return count


def switched_on(before: str | None, after: str | None) -> bool:
    return (before or "off") == "off" and (after or "off") != "off"


def follow_settings(
    app: Flask, before: str | None, after: str | None, *, user: User | None = None, tenant_id: str | None = None
) -> int | None:
    """After `auto_sync` changed from `before` to `after` (effective values), for one
    user or (no user) for a tenant's defaults: queues what brings the subscriptions in
    line, and returns the job's id (None when nothing can have changed). Switched on
    (from off), it also queues a catch-up round of the user (of each user whose
    automatic sync the tenant's default switched on), which files the messages waiting
    as `pending` at once. Saving a mode
    that is on again queues it too, which repairs a subscription that went missing.
    Never done inside the request: creating a subscription makes Graph call our
    webhook back."""
    if before == after and (after or "off") == "off":
        return None
    if user is not None and is_refused(user):
        return None  # the organisation keeps the app out of this mailbox (app_access.py)
    if user is not None:
        if switched_on(before, after):
            enqueue_catch_up(app, user)
        return enqueue_subscriptions(app, user)
    if tenant_id is None:
        raise ValueError("follow_settings needs a user or a tenant")
    return enqueue_tenant_upkeep(app, tenant_id, catch_up=switched_on(before, after))


@periodic("subscriptions", every_s=SUBSCRIPTION_UPKEEP_S)
def schedule_upkeep(app: Flask, tenant_id: str | None = None) -> int:
    """Queues a subscriptions job for every watched mailbox (of one tenant, when given)
    whose subscriptions are missing or expire within RENEW_BEFORE, and for every
    mailbox that has some but is no longer watched. Returns how many."""
    soon = utcnow() + RENEW_BEFORE
    count = 0
    with Database.state(app).session_factory() as session:
        subscribed: dict[int, list[Subscription]] = {}
        query = select(Subscription)
        if tenant_id is not None:
            query = query.where(Subscription.tenant_id == tenant_id)
        for row in session.scalars(query):
            subscribed.setdefault(row.user_id, []).append(row)
        watched = set()
        for user in watched_users(session, tenant_id):
            watched.add(user.id)
            rows = subscribed.get(user.id, [])
            if len(rows) < len(FOLDERS) or any(r.expires_at < soon for r in rows):
                enqueue_subscriptions(app, user)
                count += 1
        for user_id in set(subscribed) - watched:
            user = session.get(User, user_id)
            if user is not None:
                enqueue_subscriptions(app, user)
                count += 1
    return count
