"""One user's mailbox as the sync code sees it: CRM user + Graph client + settings."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, contains_eager

from server.crm.caller_view import UserView
from server.crm.models import User
from server.crm.tenants import caller, remember_own_addresses
from server.crm.types import utcnow
from server.graph import GraphClient
from server.sync.links import CrmLinks
from server.sync.recent_reads import ReadKey, RecentReads


class Mailbox:
    """A user's mailbox: the CRM's session, the user, their Graph client and links.

    `me` is who the mailbox belongs to, for reading: the user's row, or a read-only
    view of it (crm/caller_view.py) when the request only read its caller. `user` is
    the row itself, for code that writes to the user or hands it to the ORM: read on
    first use when the mailbox was opened from a view, and `me` from then on."""

    __slots__ = ("session", "me", "_row", "graph", "links", "reads")

    def __init__(
        self,
        session: Session,
        user: User | UserView,
        graph: GraphClient,
        links: CrmLinks,
        reads: RecentReads | None = None,
    ):
        self.session = session
        self.me = user
        self._row = user if isinstance(user, User) else None
        self.graph = graph
        self.links = links
        # The pane's recent reads (recent_reads.py): set only on the pane's own (delegated)
        # mailboxes, so background work never keeps or takes one.
        self.reads = reads

    @property
    def user(self) -> User:
        if self._row is None:
            row = self.session.execute(_USER_ROW, {"id": self.me.id}).scalar_one()
            self._row = self.me = row
        return self._row

    @property
    def tenant_id(self) -> str:
        return self.me.tenant_id

    def settings(self) -> Mapping:
        return self.me.effective_settings()

    def _read_key(self, message_id: str) -> ReadKey:
        return (self.tenant_id, self.me.oid, message_id)

    def keep_read(self, message_id: str, message: dict) -> None:
        """Hold this user's read of the message briefly, for their sync to reuse."""
        if self.reads is not None:
            self.reads.keep(self._read_key(message_id), message)

    def take_read(self, message_id: str) -> dict | None:
        """This user's read of the message from moments ago (once), or None."""
        return None if self.reads is None else self.reads.take(self._read_key(message_id))


# The row behind a view, with its tenant, in one statement.
_USER_ROW = select(User).join(User.tenant).options(contains_eager(User.tenant)).where(User.id == bindparam("id"))


def open_mailbox(
    session: Session, *, tid: str, oid: str, upn: str, name: str, config: Mapping, graph: GraphClient
) -> Mailbox:
    """The Mailbox of a user, created in the CRM on first sight (race-safe). A user the
    CRM already knows as the token says is read, not written: no commit."""
    user = caller(session, tid, oid, upn, name, auto_link_companies=config.get("AUTO_LINK_COMPANIES"))
    if isinstance(user, User):
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
    key = (mailbox.tenant_id, mailbox.me.oid)
    if key not in _categories_ready:
        mailbox.graph.ensure_categories()
        with _categories_lock:
            _categories_ready.add(key)
    checked = mailbox.me.addresses_checked_at
    if checked is None or utcnow() - checked > ADDRESSES_MAX_AGE:
        profile = mailbox.graph.get_user(select=("id", "mail", "userPrincipalName", "proxyAddresses"))
        remember_own_addresses(mailbox.session, mailbox.me, own_addresses(profile), utcnow())
        mailbox.session.commit()


def own_addresses(profile: Mapping) -> list[str]:
    """The SMTP addresses of a Graph user: mail, UPN and smtp: proxy addresses."""
    found = [profile.get("mail"), profile.get("userPrincipalName")]
    for proxy in profile.get("proxyAddresses") or ():
        scheme, _, address = str(proxy).partition(":")
        if scheme.lower() == "smtp":
            found.append(address)
    return [a for a in found if a]
