"""Checking again whether the app may open the mailboxes its organisation kept it out of
(app_access.py), and Test connection's answer to "is the app's access scoped?".

A mailbox recorded as out of scope is tried once a day (`schedule_recheck`, job
`app_access`): a cheap app-only read of its Inbox and its categories. Test connection tries every known
user's mailbox of the tenant (at most SCOPE_SAMPLE) the same way and reports "all",
"N of M" or "none". Either way the answer is recorded: a mailbox found allowed again gets
its subscriptions and a catch-up round at once; one found refused stops being synced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

import requests
from flask import Flask
from flask_babel import gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.graph_tokens import GraphTokens
from server.crm.models import User
from server.crm.types import utcnow
from server.db import Database
from server.errors import ApiError
from server.graph import GraphClient
from server.graph.errors import AccessDenied, GraphError
from server.jobs.queue import enqueue
from server.jobs.registry import JobContext, job
from server.jobs.schedule import periodic
from server.sync.app_access import (
    OUR_ROLES,
    explicit_refusal,
    plain_denial,
    reaches_another_mailbox,
    record_allowed,
    record_refused,
    roles_of,
    scope_refusal,
)
from server.sync.connection_check import FAILED, OK, SKIPPED, Check
from server.sync.delta import enqueue_catch_up
from server.sync.mailbox_factory import app_only_graph
from server.sync.subscriptions import enqueue_subscriptions

log = logging.getLogger(__name__)

RECHECK_AFTER = timedelta(days=1)
RECHECK_UPKEEP_S = 3600
SCOPE_SAMPLE = 50
NAMES_SHOWN = 10
ALLOWED, REFUSED, DENIED, UNKNOWN = "allowed", "refused", "denied", "unknown"


def probe(graph: GraphClient) -> str:
    """What automatic sync's first calls do, app-only: read one message of the Inbox and
    see to our categories (the subscriptions job's first call). Allowed, refused, or
    denied (a plain 403: the scope, or missing consent: app_access.py `scope_refusal`), or
    unknown (another failure, e.g. no mailbox or Graph busy, says nothing about the scope).
    Both, so that a mailbox found allowed is not refused again by its next job."""
    try:
        next(iter(graph.list_messages("inbox", select=("id",), page_size=1)), None)
        graph.ensure_categories()
    except GraphError as error:
        if explicit_refusal(error):
            return REFUSED
        return DENIED if plain_denial(error) else UNKNOWN
    return ALLOWED


def apply_probe(app: Flask, session: Session, user: User, answer: str) -> None:
    """Records what a probe found; a mailbox allowed again is synced again at once."""
    if answer == REFUSED:
        record_refused(app, session, user)
    elif answer == ALLOWED and record_allowed(session, user):
        log.info("user %s: the app may open this mailbox again; automatic sync resumes", user.id)
        enqueue_subscriptions(app, user)
        enqueue_catch_up(app, user)


@job("app_access")
def app_access_job(ctx: JobContext) -> None:
    """Tries once more whether the app may open one user's mailbox."""
    user = ctx.session.get(User, ctx.job.user_id) if ctx.job.user_id is not None else None
    if user is None:
        return
    answer = probe(app_only_graph(ctx.app.config, user.tenant_id, user.oid))
    if answer == DENIED:
        answer = REFUSED  # it was refused before, and still is
    if answer == UNKNOWN:
        user.app_access_checked_at = utcnow()
        ctx.session.commit()
        return
    apply_probe(ctx.app, ctx.session, user, answer)


@periodic("app_access", every_s=RECHECK_UPKEEP_S)
def schedule_recheck(app: Flask) -> int:
    """Queues the daily re-check of every mailbox recorded as out of scope; returns how many."""
    due = utcnow() - RECHECK_AFTER
    count = 0
    with Database.state(app).session_factory() as session:
        users = session.scalars(
            select(User).where(
                User.app_access_refused_at.is_not(None),
                (User.app_access_checked_at.is_(None)) | (User.app_access_checked_at < due),
            )
        )
        for user in users:
            enqueue("app_access", {}, key=f"app_access:{user.id}", tenant_id=user.tenant_id, user_id=user.id, app=app)
            count += 1
    return count


def check_mailbox_scope(app: Flask, http: requests.Session, session: Session, tenant_id: str) -> Check:
    """Test connection's "Mailbox access" check: which of the tenant's known mailboxes
    the app may open with its own permission, recorded for each; never raises for what
    it checks."""
    config: Mapping = app.config
    try:
        token = GraphTokens(config, http).app_only(tenant_id)
    except ApiError:
        return Check("Mailbox access", SKIPPED, gettext("Not checked: it needs a token first."))
    users = list(session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.id).limit(SCOPE_SAMPLE)))
    found: dict[str, list[User]] = {ALLOWED: [], REFUSED: [], DENIED: [], UNKNOWN: []}
    for user in users:
        try:
            answer = probe(app_only_graph(config, tenant_id, user.oid, token=lambda: token, http=http))
        except (requests.RequestException, OSError) as error:
            log.warning("mailbox scope check: Graph unreachable: %s", error)
            answer = UNKNOWN
        found[answer].append(user)
    # A plain denial is the scope when the app holds the permission or opens other mailboxes;
    # otherwise it is missing admin consent, which the Consent check reports.
    has_roles = OUR_ROLES <= roles_of(token)
    reaches = bool(found[ALLOWED]) or any(reaches_another_mailbox(session, u) for u in found[DENIED][:1])
    denial = AccessDenied(403, "ErrorAccessDenied", "")
    scoped = scope_refusal(denial, has_roles=has_roles, reaches_others=reaches)
    if found[DENIED] and not scoped and not found[REFUSED]:
        return Check(
            "Mailbox access",
            SKIPPED,
            gettext("Not checked: the app may not read mail at all yet (see Consent above)."),
        )
    answers = {
        ALLOWED: found[ALLOWED],
        REFUSED: found[REFUSED] + (found[DENIED] if scoped else []),
        UNKNOWN: found[UNKNOWN] + ([] if scoped else found[DENIED]),
    }
    for answer in (ALLOWED, REFUSED):
        for user in answers[answer]:
            apply_probe(app, session, user, answer)
    return scope_check(answers)


def scope_check(answers: Mapping[str, list[User]]) -> Check:
    """The check's words for what the probes found: all, N of M, or none allowed."""
    allowed, refused = len(answers[ALLOWED]), len(answers[REFUSED])
    checked = allowed + refused
    if not checked:
        return Check("Mailbox access", SKIPPED, gettext("Not checked: Microsoft Graph did not answer for any mailbox."))
    names = [u.display_name or u.upn for u in answers[REFUSED][:NAMES_SHOWN]]
    details = [
        gettext("Automatic sync is not allowed for this mailbox by your organisation: %(name)s", name=name)
        for name in names
    ]
    if refused > len(names):
        details.append(gettext("… and %(count)d more.", count=refused - len(names)))
    fix = gettext(
        "To allow more mailboxes, an Exchange administrator adds them to the group the app's access is "
        "scoped to (see the README, \u201cScoping the app to some mailboxes\u201d), then runs Test connection again."
    )
    if not refused:
        return Check(
            "Mailbox access",
            OK,
            ngettext(
                "The app may open the mailbox of the %(num)d CRM user it tried: its access is not scoped "
                "away from them.",
                "The app may open all %(num)d mailboxes of CRM users it tried: its access is not scoped "
                "away from any of them.",
                checked,
            ),
        )
    if not allowed:
        return Check(
            "Mailbox access",
            FAILED,
            gettext(
                "Access is scoped to no mailbox of a CRM user: automatic and bulk sync work for nobody "
                "(the pane's own commands still do)."
            ),
            fix,
            details=details,
        )
    return Check(
        "Mailbox access",
        OK,
        ngettext(
            "Access is scoped: %(allowed)d of %(num)d mailbox allowed.",
            "Access is scoped: %(allowed)d of %(num)d mailboxes allowed.",
            checked,
            allowed=allowed,
        )
        + " "
        + gettext("The others are synced only by their owners' own commands in the pane.")
        + " "
        + fix,
        details=details,
    )
