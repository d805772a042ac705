"""One user's mailbox as the sync code sees it: CRM user + Graph client + settings."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from server.crm.models import User
from server.crm.tenants import get_or_create_user, note_domains
from server.crm.types import utcnow
from server.graph import GraphClient
from server.sync.links import CrmLinks
from server.sync.recent_reads import ReadKey, RecentReads


@dataclass
class Mailbox:
    session: Session
    user: User
    graph: GraphClient
    links: CrmLinks
    # The pane's recent reads (recent_reads.py): set only on the pane's own (delegated)
    # mailboxes, so background work never keeps or takes one.
    reads: RecentReads | None = None

    @property
    def tenant_id(self) -> str:
        return self.user.tenant_id

    def settings(self) -> Mapping:
        return self.user.effective_settings()

    def _read_key(self, message_id: str) -> ReadKey:
        return (self.tenant_id, self.user.oid, message_id)

    def keep_read(self, message_id: str, message: dict) -> None:
        """Hold this user's read of the message briefly, for their sync to reuse."""
        if self.reads is not None:
            self.reads.keep(self._read_key(message_id), message)

    def take_read(self, message_id: str) -> dict | None:
        """This user's read of the message from moments ago (once), or None."""
        return None if self.reads is None else self.reads.take(self._read_key(message_id))


def open_mailbox(
    session: Session, *, tid: str, oid: str, upn: str, name: str, config: Mapping, graph: GraphClient
) -> Mailbox:
    """The Mailbox of a user, created in the CRM on first sight (race-safe)."""
    user = get_or_create_user(session, tid, oid, upn, name, auto_link_companies=config.get("AUTO_LINK_COMPANIES"))
    session.commit()
    return Mailbox(session, user, graph, CrmLinks(config["PUBLIC_BASE_URL"]))


# Aliases change rarely; reading them again daily keeps a renamed mailbox right.
ADDRESSES_MAX_AGE = timedelta(days=1)

_categories_ready: set[tuple[str, str]] = set()
_categories_lock = threading.Lock()


def prepare_mailbox(mailbox: Mailbox) -> None:
    """Before we tag a user's mail: our master categories exist (checked once per
    process and user; Graph tolerates a repeat from another worker), and the CRM knows
    the user's own addresses, primary and aliases, which are never filed as contacts
    (read from Graph at most daily). Raises GraphError."""
    key = (mailbox.tenant_id, mailbox.user.oid)
    if key not in _categories_ready:
        mailbox.graph.ensure_categories()
        with _categories_lock:
            _categories_ready.add(key)
    user = mailbox.user
    checked = user.addresses_checked_at
    if checked is None or utcnow() - checked > ADDRESSES_MAX_AGE:
        profile = mailbox.graph.get_user(select=("id", "mail", "userPrincipalName", "proxyAddresses"))
        user.remember_addresses(own_addresses(profile))
        note_domains(mailbox.session, user)
        user.addresses_checked_at = utcnow()
        mailbox.session.commit()


def own_addresses(profile: Mapping) -> list[str]:
    """The SMTP addresses of a Graph user: mail, UPN and smtp: proxy addresses."""
    found = [profile.get("mail"), profile.get("userPrincipalName")]
    for proxy in profile.get("proxyAddresses") or ():
        scheme, _, address = str(proxy).partition(":")
        if scheme.lower() == "smtp":
            found.append(address)
    return [a for a in found if a]
