"""Pairs of a user's Outlook contact and a CRM contact: look them up, store the
snapshot both sides agreed on, and claim a new pair when two syncs race."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from server.crm.models import Contact, OutlookContactLink, User
from server.crm.types import utcnow
from server.crm.upsert import insert_ignore, upsert


def outlook_link(session: Session, user: User, outlook_contact_id: str) -> OutlookContactLink | None:
    return OutlookContactLink.by_outlook_id(session, user.tenant_id, user.id, outlook_contact_id)


def outlook_links(session: Session, user: User, outlook_contact_ids: Iterable[str]) -> dict[str, OutlookContactLink]:
    """The user's links for these Outlook contact ids, in one query."""
    ids = list(dict.fromkeys(i for i in outlook_contact_ids if i))
    if not ids:
        return {}
    rows = (
        session.scalars(
            select(OutlookContactLink)
            .where(
                OutlookContactLink.tenant_id == user.tenant_id,
                OutlookContactLink.user_id == user.id,
                OutlookContactLink.outlook_contact_id.in_(ids),
            )
            .options(
                joinedload(OutlookContactLink.contact).joinedload(Contact.company),
                joinedload(OutlookContactLink.contact).selectinload(Contact.emails),
            )
            # A long-lived session (automatic sync) must see other writers' changes.
            .execution_options(populate_existing=True)
        )
        .unique()
        .all()
    )
    return {link.outlook_contact_id: link for link in rows}


def save_outlook_link(
    session: Session,
    user: User,
    outlook_contact_id: str,
    contact: Contact,
    snapshot: Mapping[str, Any],
    synced_at: datetime | None = None,
) -> OutlookContactLink:
    """Pairs the user's Outlook contact with a CRM contact (replacing an earlier pair
    of that Outlook contact) and stores the agreed snapshot. Race-safe; does not commit."""
    if contact.tenant_id != user.tenant_id:
        raise ValueError("contact belongs to another tenant")
    upsert(
        session,
        OutlookContactLink,
        {
            "tenant_id": user.tenant_id,
            "user_id": user.id,
            "outlook_contact_id": outlook_contact_id,
            "contact_id": contact.id,
            "snapshot": dict(snapshot),
            "last_synced_at": synced_at or utcnow(),
        },
        conflict=["user_id", "outlook_contact_id"],
        update=["contact_id", "snapshot", "last_synced_at"],
    )
    return session.scalar(
        select(OutlookContactLink)
        .where(OutlookContactLink.user_id == user.id, OutlookContactLink.outlook_contact_id == outlook_contact_id)
        .execution_options(populate_existing=True)
    )


def claim_outlook_contact(
    session: Session, user: User, outlook_contact_id: str, contact: Contact
) -> OutlookContactLink:
    """Pairs a just-created CRM contact with the Outlook contact it was made for,
    unless a concurrent sync paired that Outlook contact first: then the new contact
    is rolled back and the winner's pair is returned. Commits either way."""
    try:
        won = insert_ignore(
            session,
            OutlookContactLink,
            {
                "tenant_id": user.tenant_id,
                "user_id": user.id,
                "outlook_contact_id": outlook_contact_id,
                "contact_id": contact.id,
                "snapshot": {},
            },
            ["user_id", "outlook_contact_id"],
        )
        if won:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    link = session.scalar(
        select(OutlookContactLink)
        .where(OutlookContactLink.user_id == user.id, OutlookContactLink.outlook_contact_id == outlook_contact_id)
        .execution_options(populate_existing=True)
    )
    assert link is not None
    return link


def is_linked_in_outlook(session: Session, tenant_id: str, contact_ids: Iterable[int]) -> set[int]:
    """Which of these contacts some user of the tenant has linked to an Outlook contact."""
    ids = list(set(contact_ids))
    if not ids:
        return set()
    return set(
        session.scalars(
            select(OutlookContactLink.contact_id).where(
                OutlookContactLink.tenant_id == tenant_id, OutlookContactLink.contact_id.in_(ids)
            )
        )
    )
