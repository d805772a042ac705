"""Who is outside the tenant (`external` in the pane's people): the domains of the tenant's
users' addresses, kept on the tenant's row rather than read from every user on each open
and sync. A colleague's new domain counts from their first request on, for the whole
tenant at once; another tenant's users never make a domain internal."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import Tenant
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, PAT, add_person

NEWCOMER = "lee.chen@contoso-labs.example"
PARTNER = "someone@contoso-labs.example"


def external(user, address: str) -> bool:
    [person] = user.post("/people/match", json={"addresses": [address]}).json["people"]
    return person["external"]


def recorded_domains(crm, tenant: str) -> list[str] | None:
    crm.expire_all()
    return crm.scalar(select(Tenant.domains).where(Tenant.id == tenant))


def test_a_new_colleagues_domain_is_internal_from_their_first_request_on(pane, emulator, crm):
    adele = pane(ADELE)
    assert external(adele, PARTNER) is True
    assert "contoso-labs.example" not in recorded_domains(crm, CONTOSO)

    add_person(emulator, NEWCOMER, tid=CONTOSO)
    assert pane(NEWCOMER).get("/settings/me").status_code == 200  # their first request

    assert "contoso-labs.example" in recorded_domains(crm, CONTOSO)
    assert external(adele, PARTNER) is False
    # Another tenant's users have nothing to do with it: still an outsider to Fabrikam.
    assert external(pane(PAT), PARTNER) is True
    assert recorded_domains(crm, FABRIKAM) == ["fabrikam.com"]


def test_a_tenant_whose_domains_were_never_recorded_reads_them_from_its_users(pane, emulator, crm):
    add_person(emulator, NEWCOMER, tid=CONTOSO)
    assert pane(NEWCOMER).get("/settings/me").status_code == 200
    crm.get(Tenant, CONTOSO).domains = None  # as a tenant's row before they were kept
    crm.commit()
    assert external(pane(ADELE), PARTNER) is False
    assert recorded_domains(crm, CONTOSO) == ["contoso-labs.example", "contoso.com"]
