"""What the CRM pages read, always within one tenant: every query here takes the
signed-in user's `tenant_id`, and a record of another tenant is simply not found.

Lists are keyset-paginated (server/crm/keyset.py) on indexed sort keys; search is a
prefix match on indexed keys: folded (case and accents, server/crm/folding.py) for
contacts and companies, lower-case for subjects and titles (the indexes sit beside
their tables in server/crm/models/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from server.crm.cases import conversation_emails
from server.crm.contacts import search_contacts
from server.crm.folding import fold
from server.crm.keyset import Page, after_asc, after_desc, decode_cursor, page_of
from server.crm.models import (
    Case,
    Company,
    Contact,
    Email,
    EmailLink,
    OutlookContactLink,
    Task,
    subject_key,
)
from server.crm.prefix_search import prefix_of

PAGE_SIZE = 25
SEARCH_LIMIT = 20
MAX_QUERY_LENGTH = 100
CONVERSATION_LIMIT = 50


# -- prefix search ------------------------------------------------------------------


def normalise_query(raw: str | None) -> str:
    return " ".join((raw or "").split())[:MAX_QUERY_LENGTH].lower()


@dataclass
class SearchResults:
    query: str
    contacts: list = field(default_factory=list)
    companies: list = field(default_factory=list)
    emails: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    tasks: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.contacts or self.companies or self.emails or self.cases or self.tasks)


def search(session: Session, tenant_id: str, raw_query: str | None) -> SearchResults:
    """Records of the tenant whose name, address, company, subject or title starts
    with the query (case-insensitive; names of contacts and companies also
    accent-insensitive), at most SEARCH_LIMIT of each kind. Contacts
    come ranked by crm.contacts.search_contacts (names, then addresses, then companies)."""
    query = normalise_query(raw_query)
    results = SearchResults(query)
    if not query:
        return results
    # The same ranked contact search as the pane's "Link contact with CRM" dialog.
    results.contacts = search_contacts(session, tenant_id, query, limit=SEARCH_LIMIT)
    results.companies = session.scalars(
        select(Company)
        .where(Company.tenant_id == tenant_id, prefix_of(Company.name_fold, fold(query)))
        .order_by(Company.name_fold, Company.id)
        .limit(SEARCH_LIMIT)
    ).all()
    results.emails = session.scalars(
        select(Email)
        .where(Email.tenant_id == tenant_id, prefix_of(subject_key(), query))
        .order_by(Email.sent_at.desc(), Email.id.desc())
        .limit(SEARCH_LIMIT)
    ).all()
    results.cases = session.scalars(
        select(Case)
        .where(Case.tenant_id == tenant_id, prefix_of(func.lower(Case.title), query))
        .order_by(Case.id.desc())
        .limit(SEARCH_LIMIT)
    ).all()
    results.tasks = session.scalars(
        select(Task)
        .where(Task.tenant_id == tenant_id, prefix_of(func.lower(Task.title), query))
        .order_by(Task.id.desc())
        .limit(SEARCH_LIMIT)
    ).all()
    return results


# -- lists ----------------------------------------------------------------------------


def _email_key(email: Email):
    return [email.sent_at, email.id]


def emails_page(session: Session, tenant_id: str, after: str | None, target: tuple[str, int] | None = None) -> Page:
    """Emails newest first; with `target` (type, id) only those filed on it.
    Raises InvalidCursor."""
    cursor = decode_cursor(after, (datetime, int))
    query = select(Email).where(Email.tenant_id == tenant_id)
    if target is not None:
        # Driven by the link index: a contact's few emails are found without walking
        # the tenant's 100k, then sorted
        # (one link per email and target, so no duplicates).
        target_type, target_id = target
        query = query.join(EmailLink, EmailLink.email_id == Email.id).where(
            EmailLink.tenant_id == tenant_id, EmailLink.target_type == target_type, EmailLink.target_id == target_id
        )
    condition = after_desc(Email.sent_at, Email.id, cursor, nulls_first=_nulls_sort_high(session))
    if condition is not None:
        query = query.where(condition)
    rows = session.scalars(query.order_by(Email.sent_at.desc(), Email.id.desc()).limit(PAGE_SIZE + 1)).all()
    return page_of(list(rows), _email_key, PAGE_SIZE)


def _nulls_sort_high(session: Session) -> bool:
    """PostgreSQL sorts NULL above every value (first in DESC order); SQLite below."""
    return session.get_bind().dialect.name == "postgresql"


def contacts_page(session: Session, tenant_id: str, after: str | None, company_id: int | None = None) -> Page:
    """Live contacts by display name. Raises InvalidCursor."""
    cursor = decode_cursor(after, (str, int))
    query = select(Contact).where(Contact.tenant_id == tenant_id, Contact.deleted_at.is_(None))
    if company_id is not None:
        query = query.where(Contact.company_id == company_id)
    condition = after_asc(Contact.display_name, Contact.id, cursor)
    if condition is not None:
        query = query.where(condition)
    rows = session.scalars(
        query.options(selectinload(Contact.emails), selectinload(Contact.company))
        .order_by(Contact.display_name, Contact.id)
        .limit(PAGE_SIZE + 1)
    ).all()
    return page_of(list(rows), lambda c: [c.display_name, c.id], PAGE_SIZE)


def companies_page(session: Session, tenant_id: str, after: str | None) -> Page:
    """Companies by name. Raises InvalidCursor."""
    cursor = decode_cursor(after, (str, int))
    query = select(Company).where(Company.tenant_id == tenant_id)
    condition = after_asc(Company.name_key, Company.id, cursor)
    if condition is not None:
        query = query.where(condition)
    rows = session.scalars(query.order_by(Company.name_key, Company.id).limit(PAGE_SIZE + 1)).all()
    return page_of(list(rows), lambda c: [c.name_key, c.id], PAGE_SIZE)


def _newest_first(session: Session, model, tenant_id: str, after: str | None, *filters) -> Page:
    cursor = decode_cursor(after, (int,))
    query = select(model).where(model.tenant_id == tenant_id, *filters)
    if cursor is not None:
        query = query.where(model.id < cursor[0])
    rows = session.scalars(query.order_by(model.id.desc()).limit(PAGE_SIZE + 1)).all()
    return page_of(list(rows), lambda r: [r.id], PAGE_SIZE)


def cases_page(session: Session, tenant_id: str, after: str | None) -> Page:
    """Cases, newest first. Raises InvalidCursor."""
    return _newest_first(session, Case, tenant_id, after)


def tasks_page(session: Session, tenant_id: str, after: str | None, case_id: int | None = None) -> Page:
    """Tasks, newest first (of one case when `case_id`). Raises InvalidCursor."""
    filters = [Task.case_id == case_id] if case_id is not None else []
    return _newest_first(session, Task, tenant_id, after, *filters)


# -- one record -----------------------------------------------------------------------


@dataclass
class LinkedRecord:
    kind: str  # contact | company | case | task
    id: int
    label: str
    deleted: bool = False
    source: str = ""


def linked_records(session: Session, tenant_id: str, email: Email) -> list[LinkedRecord]:
    """What the email is filed on; a soft-deleted contact stays listed as such."""
    records: list[LinkedRecord] = []
    by_type: dict[str, dict[int, str]] = {}
    for link in email.links:
        by_type.setdefault(link.target_type, {})[link.target_id] = link.source
    if by_type.get("contact"):
        for contact in session.scalars(
            select(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.id.in_(by_type["contact"]))
            .options(selectinload(Contact.emails))
        ):
            records.append(
                LinkedRecord("contact", contact.id, contact.name, contact.is_deleted, by_type["contact"][contact.id])
            )
    for kind, model, label in (("company", Company, "name"), ("case", Case, "title"), ("task", Task, "title")):
        ids = by_type.get(kind)
        if not ids:
            continue
        for row in session.scalars(select(model).where(model.tenant_id == tenant_id, model.id.in_(ids))):
            records.append(LinkedRecord(kind, row.id, getattr(row, label), False, ids[row.id]))
    order = {"contact": 0, "company": 1, "case": 2, "task": 3}
    records.sort(key=lambda r: (order[r.kind], r.label.lower(), r.id))
    return records


def conversation_of(session: Session, tenant_id: str, email: Email) -> list[Email]:
    """The conversation's other filed emails, oldest first."""
    if not email.conversation_id:
        return []
    others = [e for e in conversation_emails(session, tenant_id, email.conversation_id) if e.id != email.id]
    return sorted(others, key=lambda e: (e.sent_at is None, e.sent_at or e.created_at, e.id))[:CONVERSATION_LIMIT]


def outlook_links_of(session: Session, tenant_id: str, contact_id: int) -> list[OutlookContactLink]:
    """Which users' Outlook contacts are linked to this CRM contact."""
    return list(
        session.scalars(
            select(OutlookContactLink)
            .where(OutlookContactLink.tenant_id == tenant_id, OutlookContactLink.contact_id == contact_id)
            .order_by(OutlookContactLink.id)
        )
    )


def company_contacts(session: Session, tenant_id: str, company_id: int, limit: int = PAGE_SIZE) -> tuple[list, int]:
    """The company's first live contacts by name, and how many it has."""
    live = and_(Contact.tenant_id == tenant_id, Contact.company_id == company_id, Contact.deleted_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Contact).where(live)) or 0
    rows = session.scalars(
        select(Contact)
        .where(live)
        .options(selectinload(Contact.emails))
        .order_by(Contact.display_name, Contact.id)
        .limit(limit)
    ).all()
    return list(rows), total
