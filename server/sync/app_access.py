"""Mailboxes the organisation keeps the app out of, and what automatic sync does about it.

Automatic and bulk sync read a mailbox with the app's own (app-only) permission on
/users/{id}. A tenant may scope that permission to some mailboxes (Exchange Online's RBAC
for Applications, or the older application access policies); Graph then answers 403
ErrorAccessDenied for any other mailbox: an application access policy in its own words
("Access to OData is disabled."), RBAC for Applications as plainly as for a permission
the app lacks. The first is always taken as the organisation's refusal for this mailbox;
the second when the app holds the permission (its token's roles) or is known to open
other mailboxes of the tenant, else it is missing admin consent and fails as before.

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

import jwt
from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from server.auth import app_graph_token
from server.crm.models import Subscription, User
from server.crm.types import utcnow
from server.domain_errors import Forbidden
from server.errors import ApiError
from server.graph.errors import AccessDenied, GraphError, MailboxAccessRefused
from server.jobs.registry import FailNow, JobContext, JobFunction
from server.sync.mailbox_factory import app_only_graph

log = logging.getLogger(__name__)

REASON = "Automatic sync is not allowed for this mailbox by your organisation."
# The application roles automatic sync uses (lower-case, as roles_of answers them).
OUR_ROLES = {"mail.readwrite", "contacts.readwrite", "mailboxsettings.readwrite"}


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


def explicit_refusal(error: BaseException) -> bool:
    """An application access policy's own words: "Access to OData is disabled."."""
    return isinstance(error, MailboxAccessRefused)


def plain_denial(error: BaseException) -> bool:
    """Exchange's plain 403 ErrorAccessDenied: what RBAC for Applications answers for a
    mailbox outside its scope, and also what a tenant without admin consent answers."""
    return isinstance(error, AccessDenied) and error.code.lower() == "erroraccessdenied"


def roles_of(token: str) -> set[str]:
    """The application roles an app-only Graph token carries, lower-case (empty when it
    cannot be read; the signature is Graph's business, not ours)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return set()
    return {r.lower() for r in claims.get("roles") or () if isinstance(r, str)}


def reaches_another_mailbox(session: Session, user: User) -> bool:
    """Whether the app is known to open some other mailbox of the user's tenant."""
    return (
        session.scalar(
            select(User.id)
            .where(
                User.tenant_id == user.tenant_id,
                User.id != user.id,
                User.app_access_checked_at.is_not(None),
                User.app_access_refused_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def scope_refusal(error: BaseException, *, has_roles: bool, reaches_others: bool) -> bool:
    """Whether an app-only request's failure means the organisation keeps the app out of
    this one mailbox: the access policy's words; or a plain denial while the app holds
    every permission it needs (its token's roles) or opens other mailboxes of the tenant,
    so that a tenant that never granted admin consent, or granted only part of it, is
    still told to grant it."""
    if explicit_refusal(error):
        return True
    return plain_denial(error) and (has_roles or reaches_others)


def refused_by_scope(session: Session, user: User, error: BaseException) -> bool:
    """`scope_refusal` for a job's failure on `user`'s mailbox (the app's cached token)."""
    if explicit_refusal(error):
        return True
    if not plain_denial(error):
        return False
    try:
        has_roles = OUR_ROLES <= roles_of(app_graph_token(user.tenant_id))
    except ApiError:
        has_roles = False
    return scope_refusal(error, has_roles=has_roles, reaches_others=reaches_another_mailbox(session, user))


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
            if user is None:
                raise
            ctx.session.rollback()
            user = ctx.session.get(User, user.id)
            if user is None or not refused_by_scope(ctx.session, user, error):
                raise
            record_refused(ctx.app, ctx.session, user)
            raise MailboxOutOfScope() from error
        if user is not None:
            # The first job that worked proves the app opens this mailbox: a plain denial
            # of another mailbox of the tenant is then the scope, not missing consent.
            ctx.session.execute(
                update(User)
                .where(User.id == user.id, User.app_access_checked_at.is_(None))
                .values(app_access_checked_at=utcnow())
            )
            ctx.session.commit()

    return run
