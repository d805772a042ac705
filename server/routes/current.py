"""The signed-in user's mailbox for a request: CRM user + delegated Graph client."""
from __future__ import annotations

from flask import current_app, g

from server.auth import current_principal
from server.db import db_session
from server.graph.errors import GraphError
from server.sync.errors import api_error_for
from server.sync.mailbox import Mailbox, prepare_mailbox
from server.sync.mailbox_factory import delegated_mailbox

def current_mailbox() -> Mailbox:
    """The request's Mailbox (once per request). Raises AuthError without a principal."""
    mailbox = g.get("mailbox")
    if mailbox is None:
        mailbox = delegated_mailbox(db_session(), current_app.config, current_principal())
        g.mailbox = mailbox
    return mailbox


def prepare_for_writes(mailbox: Mailbox) -> None:
    """`prepare_mailbox` (categories, own addresses) with Graph's failures in the API's words."""
    try:
        prepare_mailbox(mailbox)
    except GraphError as error:
        raise api_error_for(error) from error
