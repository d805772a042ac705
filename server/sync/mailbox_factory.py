"""The one place that builds Graph clients and Mailboxes: delegated (the signed-in
user's own token, on /me) and app-only (client credentials, on /users/{id}).

The app-only ones serve background jobs and the CLI; the delegated ones serve the
pane's requests. All of them need the app context (the token caches and the session
trusting CA_BUNDLE live in the app's auth state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import requests
from flask import Flask, current_app
from sqlalchemy.orm import Session

from server.auth import Principal, app_graph_token, graph_token_for, trusted_session
from server.crm.models import User
from server.graph import GraphClient
from server.jobs.registry import JobContext
from server.sync.links import CrmLinks
from server.sync.mailbox import Mailbox, open_mailbox
from server.sync.recent_reads import reads_for

TokenSource = Callable[[], str]


def app_only_graph(
    config: Mapping,
    tenant_id: str,
    user: str,
    *,
    token: TokenSource | None = None,
    http: requests.Session | None = None,
) -> GraphClient:
    """Graph on /users/{user} (object id or UPN) with the app's token for the tenant.
    `token` and `http` replace the cached token and the app's session (the connection
    check uses a fresh token of its own)."""
    return GraphClient.from_config(
        config, token or (lambda: app_graph_token(tenant_id)), http or trusted_session(), user=user
    )


def delegated_graph(
    config: Mapping, token: TokenSource, *, http: requests.Session | None = None, oid: str | None = None
) -> GraphClient:
    """Graph on /me with a user's own (delegated) token; with the user's object id `oid`,
    its requests share the mailbox's slots and budget with app-only work on it."""
    return GraphClient.from_config(config, token, http or trusted_session(), mailbox=oid)


def app_only_mailbox(app: Flask, session: Session, user_id: int) -> Mailbox | None:
    """A user's Mailbox for background work, on app-only Graph. None when the user no
    longer exists."""
    user = session.get(User, user_id)
    if user is None:
        return None
    graph = app_only_graph(app.config, user.tenant_id, user.oid)
    return Mailbox(session, user, graph, CrmLinks(app.config["PUBLIC_BASE_URL"]))


def delegated_mailbox(session: Session, config: Mapping, principal: Principal) -> Mailbox:
    """The signed-in user's Mailbox on delegated Graph (on-behalf-of their token); the
    user is added to the CRM on first sight. It holds the app's store of the pane's
    recent reads (recent_reads.py), which only the pane's requests use."""
    graph = delegated_graph(config, lambda: graph_token_for(principal), oid=principal.oid)
    mailbox = open_mailbox(
        session,
        tid=principal.tid,
        oid=principal.oid,
        upn=principal.upn,
        name=principal.name,
        config=config,
        graph=graph,
    )
    mailbox.reads = reads_for(current_app)
    return mailbox


def job_mailbox(ctx: JobContext) -> Mailbox | None:
    """The job's user's Mailbox on app-only Graph; None when the user is gone.
    Raises ValueError for a job without a user."""
    if ctx.job.user_id is None:
        raise ValueError("this job has no user")
    return app_only_mailbox(ctx.app, ctx.session, ctx.job.user_id)
