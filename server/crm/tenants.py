"""Tenants and users, created on first sight of their token (race-safe), and the
tenant's own domains."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from server.crm.addresses import normalise_address
from server.crm.caller_view import UserView, read_caller
from server.crm.models import Tenant, User
from server.crm.models.tenancy import with_addresses
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
    note_domains(session, user)
    return user


def caller(
    session: Session,
    tid: str,
    oid: str,
    upn: str = "",
    name: str = "",
    auto_link_companies: bool | None = None,
) -> User | UserView:
    """`get_or_create_user` for a request that reads its caller: a read-only view, from
    one Core statement, when the CRM's row already says what the token says (nothing
    to write); else the row, after get_or_create_user's writes (the caller commits)."""
    view = read_caller(session, tid, oid)
    if view is not None and is_current(view, upn, name):
        return view
    return get_or_create_user(session, tid, oid, upn, name, auto_link_companies)


def is_current(user: User | UserView, upn: str, name: str) -> bool:
    """Whether get_or_create_user would write nothing for this user: the same upn and
    display name, the upn among their addresses, their domains on the tenant."""
    if (upn and user.upn != upn) or (name and user.display_name != name):
        return False
    address = normalise_address(upn) if upn else ""
    if address and address not in (user.addresses or []):
        return False
    recorded = user.tenant.domains
    return recorded is not None and domains_of([*(user.addresses or []), user.upn]) <= set(recorded)


def domains_of(addresses: Iterable[str | None]) -> set[str]:
    """The domains of the valid addresses among `addresses`."""
    found = set()
    for raw in addresses:
        address = normalise_address(raw or "")
        if address:
            found.add(address.rpartition("@")[2])
    return found


def tenant_domains(session: Session, tenant: Tenant) -> set[str]:
    """The domains of the tenant's users' addresses (primary, aliases, UPN): as recorded
    on the tenant (no statement), or read from its users when not recorded yet."""
    if tenant.domains is not None:
        return set(tenant.domains)
    return _scan_domains(session, tenant.id)


def note_domains(session: Session, user: User | UserView) -> None:
    """Records the domains of the user's addresses on their tenant, in the caller's
    transaction; call it whenever a user is created or gains addresses (users' addresses
    only ever grow: `User.remember_addresses`). Nothing is written, and nothing read,
    when the tenant knows them all already. Else the tenant's row is locked (a row lock
    on PostgreSQL, the write lock on SQLite) and read again before the new domains are
    added, so two users gaining domains at once both keep theirs."""
    tenant = user.tenant
    wanted = domains_of([*(user.addresses or []), user.upn])
    if tenant.domains is not None and wanted <= set(tenant.domains):
        return
    tid = tenant.id
    session.execute(_LOCK_TENANT, {"tid": tid})
    recorded = session.execute(_DOMAINS_OF_TENANT, {"tid": tid}).scalar()
    # Not recorded yet: every user's, this one's among them once flushed (added here in
    # case it is not).
    known = _scan_domains(session, tid) if recorded is None else set(recorded)
    merged = sorted(known | wanted)
    if merged != recorded:
        session.execute(_SET_DOMAINS, {"tid": tid, "new_domains": merged})
    if isinstance(tenant, Tenant):
        set_committed_value(tenant, "domains", merged)
    else:
        tenant.domains = merged


def remember_own_addresses(
    session: Session, user: User | UserView, addresses: Iterable[str], checked_at: datetime
) -> None:
    """Adds addresses read from the user's profile to their own, notes when they were read
    and records their domains on the tenant, in the caller's transaction. A read-only
    view is written with one UPDATE, without loading the row."""
    if isinstance(user, User):
        user.remember_addresses(addresses)
        user.addresses_checked_at = checked_at
    else:
        merged = with_addresses(user.addresses, addresses)
        session.execute(
            update(_users).where(_users.c.id == user.id).values(addresses=merged, addresses_checked_at=checked_at)
        )
        user.addresses, user.addresses_checked_at = merged, checked_at
    note_domains(session, user)


def _scan_domains(session: Session, tenant_id: str) -> set[str]:
    domains: set[str] = set()
    for addresses, upn in session.execute(_ADDRESSES_OF_TENANT, {"tid": tenant_id}):
        domains |= domains_of([*(addresses or []), upn])
    return domains


_tenants, _users = Tenant.__table__, User.__table__
# A write that changes nothing: it takes the row's lock until the transaction ends.
_LOCK_TENANT = update(_tenants).where(_tenants.c.id == bindparam("tid")).values(domains=_tenants.c.domains)
_DOMAINS_OF_TENANT = select(_tenants.c.domains).where(_tenants.c.id == bindparam("tid"))
_SET_DOMAINS = update(_tenants).where(_tenants.c.id == bindparam("tid")).values(domains=bindparam("new_domains"))
_ADDRESSES_OF_TENANT = select(_users.c.addresses, _users.c.upn).where(_users.c.tenant_id == bindparam("tid"))
