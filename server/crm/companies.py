"""Company records: list a page of them (searching names and domains), get,
create, rename or set domains, delete. Names are unique in a tenant ignoring
case and spacing.

Deleting a company removes it; its contacts stay, without a company, and emails
filed on it stay filed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Text, case, cast, or_, select
from sqlalchemy.orm import Session

from server.crm.addresses import InvalidDomain, normalise_domains
from server.crm.field_limits import check_length
from server.crm.folding import fold
from server.crm.keyset import DEFAULT_LIMIT, Page, ranked_page
from server.crm.models import Company
from server.crm.prefix_search import LIKE_ESCAPE, like_prefix, prefix_of
from server.crm.record_errors import RecordConflict, RecordInvalid, RecordNotFound
from server.crm.tenants import get_or_create_tenant


def list_companies(
    session: Session, tenant_id: str, *, q: str | None = None, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> Page:
    """Companies of the tenant, by name. With `q`: name prefix (ignoring case and
    accents) first, then a prefix of one of their domains. Raises InvalidCursor for a bad `after`."""
    query = select(Company).where(Company.tenant_id == tenant_id)
    q = " ".join((q or "").split())
    rank_expr = None
    if q:
        by_name = prefix_of(Company.name_fold, fold(q))
        # domains is a JSON list of strings: a domain starts right after a quote.
        by_domain = cast(Company.domains, Text).like('%"' + like_prefix(q.lower().lstrip("@")), escape=LIKE_ESCAPE)
        query = query.where(or_(by_name, by_domain))
        rank_expr = case((by_name, 0), else_=1)
    return ranked_page(session, query, rank_expr, Company.name_key, Company.id, limit, after)


def get_company(session: Session, tenant_id: str, company_id: int) -> Company:
    """Raises RecordNotFound."""
    company = Company.get(session, tenant_id, company_id)
    if company is None:
        raise RecordNotFound(f"company {company_id} not found")
    return company


def create_company(session: Session, tenant_id: str, data: Mapping[str, Any]) -> Company:
    """Raises RecordInvalid, FieldTooLong, RecordConflict (a company of that name exists)."""
    get_or_create_tenant(session, tenant_id)
    name = check_length("company", " ".join(str(data.get("name") or "").split()), "name")
    if not name:
        raise RecordInvalid("name", "A company needs a name.")
    if Company.by_name(session, tenant_id, name) is not None:
        raise RecordConflict(f"A company named {name!r} exists already.")
    company = Company(tenant_id=tenant_id, name=name, domains=_domains(data.get("domains") or []))
    session.add(company)
    session.commit()
    return company


def update_company(session: Session, tenant_id: str, company_id: int, data: Mapping[str, Any]) -> Company:
    """Raises RecordNotFound, RecordInvalid, FieldTooLong, RecordConflict."""
    company = get_company(session, tenant_id, company_id)
    if "name" in data:
        name = check_length("company", " ".join(str(data["name"] or "").split()), "name")
        if not name:
            raise RecordInvalid("name", "A company needs a name.")
        other = Company.by_name(session, tenant_id, name)
        if other is not None and other.id != company.id:
            raise RecordConflict(f"A company named {name!r} exists already.")
        company.rename(name)
    if "domains" in data:
        company.domains = _domains(data["domains"] or [])
    session.commit()
    return company


def delete_company(session: Session, tenant_id: str, company_id: int) -> None:
    """Removes the company; its contacts stay, without a company, and emails filed on
    it stay filed. Raises RecordNotFound."""
    company = get_company(session, tenant_id, company_id)
    for contact in list(company.contacts):
        contact.company = None
    session.delete(company)
    session.commit()


def _domains(raw: Iterable[str]) -> list[str]:
    try:
        return normalise_domains(raw)
    except InvalidDomain as exc:
        raise RecordInvalid("domains", str(exc)) from None
