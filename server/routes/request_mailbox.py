"""The request's mailbox: the signed-in user's CRM user and delegated Graph client,
built once per request for the API's views."""
from __future__ import annotations

from flask import current_app, g

from server.auth import current_principal, graph_token_for, trusted_session
from server.db import db_session
from server.graph import GraphClient
from server.sync.mailbox import Mailbox, open_mailbox

def current_mailbox() -> Mailbox:
    """The request's Mailbox (once per request). Raises AuthError without a principal."""
    mailbox = g.get("mailbox")
    if mailbox is None:
        principal = current_principal()
        graph = GraphClient.from_config(current_app.config, lambda: graph_token_for(principal),
                                        trusted_session())
        mailbox = open_mailbox(db_session(), tid=principal.tid, oid=principal.oid,
                               upn=principal.upn, name=principal.name,
                               config=current_app.config, graph=graph)
        g.mailbox = mailbox
    return mailbox

