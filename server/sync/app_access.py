"""Mailboxes the organisation keeps the app out of, and what automatic sync does about it.

Automatic and bulk sync read a mailbox with the app's own (app-only) permission on
/users/{id}. A tenant may scope that permission to some mailboxes (Exchange Online's RBAC
for Applications, or the older application access policies); Graph then answers 403
ErrorAccessDenied ("Access to OData is disabled.") for any other mailbox. A 403 to an
app-only request on a user's mailbox is taken as that: the organisation has not allowed
automatic sync for this mailbox.

When a job meets it (`mailbox_job`), the refusal is recorded on the user
(`users.app_access_refused_at`, with when it was last checked), the mailbox's
subscriptions are removed, and the job ends failed at once with that reason
(`MailboxOutOfScope`, never retried). From then on nothing is queued for the mailbox:
no subscriptions, no delta rounds (watching.py), no bulk sync (`AutomaticSyncNotAllowed`),
and a job queued anyway ends the same way without calling Graph. Only a check clears it:
the daily re-check or Test connection (app_access_check.py). The user's own pane
commands use their own delegated token, which the scope does not touch, and keep working.
"""

from __future__ import annotations

import functools
import logging

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.crm.models import Subscription, User
from server.crm.types import utcnow
from server.domain_errors import Forbidden
from server.graph.errors import AccessDenied, GraphError, MailboxAccessRefused
from server.jobs.registry import FailNow, JobContext, JobFunction
from server.sync.mailbox_factory import app_only_graph

log = logging.getLogger(__name__)

REASON = "Automatic sync is not allowed for this mailbox by your organisation."


class MailboxOutOfScope(FailNow):
    """A job's end when Microsoft 365 refuses the app access to the job's mailbox:
    running again cannot help until the organisation allows it."""

    def __init__(self):
        super().__init__(
            REASON + " An Exchange administrator can add the mailbox to the app's scope; "
            "then run Test connection on the settings page."
        )


class AutomaticSyncNotAllowed(Forbidden):
    """Background work (bulk sync) asked for a mailbox the organisation keeps the app out of."""

    code = "automatic_sync_not_allowed"

    def __init__(self):
        super().__init__(
            REASON + " Sync emails one at a time from the pane instead: that uses your own sign-in, which still works."
        )


def refuses_mailbox(error: BaseException) -> bool:
    """Whether an app-only request's failure means the mailbox is outside the app's scope:
    Exchange's 403 (an application access policy says "Access to OData is disabled.";
    RBAC for Applications answers ErrorAccessDenied as for a permission the app lacks,
    which is the organisation's refusal too)."""
    if isinstance(error, MailboxAccessRefused):
        return True
    return isinstance(error, AccessDenied) and error.code.lower() == "erroraccessdenied"


def is_refused(user: User | None) -> bool:
    return user is not None and user.app_access_refused_at is not None


def refused_since(user: User | None):
    """When the app's access to the user's mailbox was refused (None while allowed)."""
    return user.app_access_refused_at if user is not None else None


def require_allowed(user: User) -> None:
    """Raises AutomaticSyncNotAllowed when the organisation keeps the app out of `user`'s mailbox."""
    if is_refused(user):
        raise AutomaticSyncNotAllowed()


def record_refused(app: Flask, session: Session, user: User) -> None:
    """Notes that the app may not open `user`'s mailbox (keeping when that was first
    seen) and removes its subscriptions, so that nothing is queued for it; commits."""
    now = utcnow()
    first = user.app_access_refused_at is None
    if first:
        user.app_access_refused_at = now
    user.app_access_checked_at = now
    rows = list(session.scalars(select(Subscription).where(Subscription.user_id == user.id)))
    if rows:
        graph = app_only_graph(app.config, user.tenant_id, user.oid)
        for row in rows:
            try:
                graph.delete_subscription(row.subscription_id)
            except GraphError as error:  # Graph drops them itself; ours go either way
                log.info("subscription %s of an out-of-scope mailbox: %s", row.subscription_id, error)
        session.execute(delete(Subscription).where(Subscription.user_id == user.id))
    session.commit()
    if first:
        log.warning("user %s: the organisation keeps the app out of this mailbox; automatic sync stops", user.id)


def record_allowed(session: Session, user: User) -> bool:
    """Notes that the app may open `user`'s mailbox; True when it had been refused. Commits."""
    was_refused = user.app_access_refused_at is not None
    user.app_access_refused_at = None
    user.app_access_checked_at = utcnow()
    session.commit()
    return was_refused


def mailbox_job(fn: JobFunction) -> JobFunction:
    """Wraps a job that reads its user's mailbox app-only: a mailbox already known to be
    out of scope ends the job at once (no Graph call); a refusal met while running is
    recorded and ends it the same way, never retried."""

    @functools.wraps(fn)
    def run(ctx: JobContext) -> None:
        user = ctx.session.get(User, ctx.job.user_id) if ctx.job.user_id is not None else None
        if is_refused(user):
            raise MailboxOutOfScope()
        try:
            fn(ctx)
        except GraphError as error:
            if user is None or not refuses_mailbox(error):
                raise
            ctx.session.rollback()
            user = ctx.session.get(User, user.id)
            if user is None:
                raise
            record_refused(ctx.app, ctx.session, user)
            raise MailboxOutOfScope() from error

    return run
