"""The request's mailbox: the signed-in user's CRM user and delegated Graph client,
built once per request for the API's views."""

from __future__ import annotations

from flask import current_app, g

from server.auth import current_principal
from server.db import db_session
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import delegated_mailbox


def current_mailbox() -> Mailbox:
    """The request's Mailbox (once per request). Raises AuthError without a principal."""
    mailbox = g.get("mailbox")
    if mailbox is None:
        mailbox = delegated_mailbox(db_session(), current_app.config, current_principal())
        g.mailbox = mailbox
    return mailbox
