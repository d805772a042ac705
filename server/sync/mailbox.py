"""One user's mailbox as the sync code sees it: CRM user + Graph client + settings."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from sqlalchemy.orm import Session

from server.crm.models import User
from server.crm.tenants import get_or_create_user
from server.graph import GraphClient
from server.sync.links import CrmLinks


@dataclass
class Mailbox:
    session: Session
    user: User
    graph: GraphClient
    links: CrmLinks

    @property
    def tenant_id(self) -> str:
        return self.user.tenant_id

    def settings(self) -> Mapping:
        return self.user.effective_settings()


def open_mailbox(session: Session, *, tid: str, oid: str, upn: str, name: str,
                 config: Mapping, graph: GraphClient) -> Mailbox:
    """The Mailbox of a user, created in the CRM on first sight (race-safe)."""
    user = get_or_create_user(session, tid, oid, upn, name,
                              auto_link_companies=config.get("AUTO_LINK_COMPANIES"))
    session.commit()
    return Mailbox(session, user, graph, CrmLinks(config["PUBLIC_BASE_URL"]))
