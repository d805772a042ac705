"""The signed-in user's mailbox for a request: CRM user + delegated Graph client."""
from __future__ import annotations

from flask import current_app, g

from server.auth import current_principal, graph_token_for, trusted_session
from server.db import db_session
from server.graph import GraphClient
from server.graph.errors import GraphError
from server.sync.errors import api_error_for
from server.sync.mailbox import Mailbox, open_mailbox, prepare_mailbox

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


def prepare_for_writes(mailbox: Mailbox) -> None:
    """`prepare_mailbox` (categories, own addresses) with Graph's failures in the API's words."""
    try:
        prepare_mailbox(mailbox)
    except GraphError as error:
        raise api_error_for(error) from error
