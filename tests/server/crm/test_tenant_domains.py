"""The tenant's own domains, kept on its row (crm/tenants.py `note_domains`): every
domain of its users' addresses is there, none is lost when two users gain one at once,
and a tenant never holds another tenant's."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import Tenant, User
from server.crm.tenants import get_or_create_user, note_domains, tenant_domains
from server.db import Database
from tests.support.identities import CONTOSO, FABRIKAM


def domains(session, tenant: str) -> list[str] | None:
    session.expire_all()
    return session.scalar(select(Tenant.domains).where(Tenant.id == tenant))


def test_users_domains_are_recorded_on_their_own_tenant_only(app, clean_state):
    with Database.state(app).session_factory() as session:
        get_or_create_user(session, CONTOSO, "oid-1", "one@contoso.com")
        get_or_create_user(session, FABRIKAM, "oid-2", "two@fabrikam.com")
        session.commit()
        user = get_or_create_user(session, CONTOSO, "oid-1", "one@contoso.com")
        user.remember_addresses(["One@Alias.Example", "not an address"])
        note_domains(session, user)
        session.commit()
        assert domains(session, CONTOSO) == ["alias.example", "contoso.com"]
        assert domains(session, FABRIKAM) == ["fabrikam.com"]
        assert tenant_domains(session, session.get(Tenant, FABRIKAM)) == {"fabrikam.com"}


def test_two_users_gaining_domains_at_once_both_keep_theirs(app, clean_state):
    factory = Database.state(app).session_factory
    with factory() as setup:
        get_or_create_user(setup, CONTOSO, "oid-1", "one@contoso.com")
        get_or_create_user(setup, CONTOSO, "oid-2", "two@contoso.com")
        setup.commit()
    with factory() as first, factory() as second:
        one = first.scalar(select(User).where(User.oid == "oid-1"))
        two = second.scalar(select(User).where(User.oid == "oid-2"))
        # Both read the tenant's domains before either writes.
        assert one.tenant.domains == two.tenant.domains == ["contoso.com"]
        one.remember_addresses(["one@alpha.example"])
        note_domains(first, one)
        first.commit()
        two.remember_addresses(["two@beta.example"])
        note_domains(second, two)  # its copy of the tenant is stale: read again under the lock
        second.commit()
        assert domains(second, CONTOSO) == ["alpha.example", "beta.example", "contoso.com"]
