"""Tenants and users, created on first sight of their token (race-safe)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, contains_eager

from server.crm.models import Tenant, User
from server.crm.upsert import insert_ignore


def get_or_create_tenant(session: Session, tid: str, name: str = "", auto_link_companies: bool | None = None) -> Tenant:
    """The tenant with this tid, created if new. `auto_link_companies` (the
    deployment's AUTO_LINK_COMPANIES) becomes a new tenant's default; an existing
    tenant's settings are left alone. Does not commit."""
    tenant = session.get(Tenant, tid)
    if tenant is not None:
        if name and not tenant.name:
            tenant.name = name
        return tenant
    settings = {} if auto_link_companies is None else {"auto_link_companies": bool(auto_link_companies)}
    insert_ignore(session, Tenant, {"id": tid, "name": name or "", "settings": settings}, ["id"])
    return session.get(Tenant, tid, populate_existing=True)  # type: ignore[return-value]


# A known user and their tenant in one statement, built once: every API request opens
# its caller's mailbox this way, and the settings read later need the tenant (whose
# object the user then holds, so the session's weak identity map keeps it).
_USER_WITH_TENANT = (
    select(User)
    .join(User.tenant)
    .options(contains_eager(User.tenant))
    .where(User.tenant_id == bindparam("tid"), User.oid == bindparam("oid"))
)


def get_or_create_user(
    session: Session,
    tid: str,
    oid: str,
    upn: str = "",
    name: str = "",
    auto_link_companies: bool | None = None,
) -> User:
    """The user (tid, oid), with their tenant, created if new; a changed upn or
    display name is updated. Safe when two requests of a new user race.
    Does not commit."""
    user = session.scalar(_USER_WITH_TENANT, {"tid": tid, "oid": oid})
    if user is None:
        get_or_create_tenant(session, tid, auto_link_companies=auto_link_companies)
        insert_ignore(
            session,
            User,
            {"tenant_id": tid, "oid": oid, "upn": upn or "", "display_name": name or ""},
            ["tenant_id", "oid"],
        )
        user = session.scalar(
            select(User).where(User.tenant_id == tid, User.oid == oid).execution_options(populate_existing=True)
        )
        assert user is not None
    if upn and user.upn != upn:
        user.upn = upn
    if name and user.display_name != name:
        user.display_name = name
    if upn:
        user.remember_addresses([upn])
    return user
