"""An administrator's restriction of one user only narrows what that user's mailbox
files: what applies is the narrower of the user's own choice (or the tenant's default
they have not changed) and the restriction. Nothing an administrator sets turns filing
on, and a restriction that would widen is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import column, insert, select, table

from server import migrate
from server.crm.models import AUTO_SYNC_MODES, Tenant
from server.crm.models.tenancy import InvalidSettings
from server.crm.tenants import get_or_create_user
from server.crm.types import Json
from server.db import make_engine
from tests.support.identities import CONTOSO, MEGAN, MEGAN_OID


@pytest.fixture
def megan(crm, clean_state):
    user = get_or_create_user(crm, CONTOSO, MEGAN_OID, MEGAN, "Megan Bowen")
    crm.commit()
    return user


@pytest.mark.parametrize("default", AUTO_SYNC_MODES)
@pytest.mark.parametrize("chosen", [None, *AUTO_SYNC_MODES])
@pytest.mark.parametrize("limit", [None, *AUTO_SYNC_MODES])
def test_what_applies_is_never_wider_than_the_users_choice_or_the_default(crm, megan, default, chosen, limit):
    crm.get(Tenant, CONTOSO).update_settings(auto_sync=default)
    megan.update_settings(auto_sync=chosen)
    megan.restrict(auto_sync=limit)
    crm.commit()
    crm.expire_all()
    own = chosen or default
    applies = megan.effective_settings()["auto_sync"]
    assert AUTO_SYNC_MODES.index(applies) <= AUTO_SYNC_MODES.index(own)
    assert applies == (own if limit is None else min(own, limit, key=AUTO_SYNC_MODES.index))


def test_linking_companies_and_never_sync_can_only_be_narrowed(crm, megan):
    megan.update_settings(auto_link_companies=True, never_sync=["mine.example"])
    megan.restrict(auto_link_companies=False, never_sync=["family.example"])
    crm.commit()
    crm.expire_all()
    applies = megan.effective_settings()
    assert applies["auto_link_companies"] is False
    assert applies["never_sync"] == ["mine.example", "family.example"]
    with pytest.raises(InvalidSettings):
        megan.restrict(auto_link_companies=True)
    with pytest.raises(InvalidSettings):
        megan.restrict(create_unknown_senders=True)
    with pytest.raises(InvalidSettings):
        megan.restrict(auto_sync="everything")
    megan.restrict(auto_link_companies=None, never_sync=None)
    assert megan.restrictions == {}
    assert megan.effective_settings()["auto_link_companies"] is True


def test_the_upgrade_drops_stored_choices_wider_than_the_tenants_default(fresh_database_factory):
    tenants = table("tenants", column("id"), column("name"), column("settings", Json()), column("created_at"))
    users = table(
        "users",
        *(column(c) for c in ("tenant_id", "oid", "upn", "display_name", "created_at")),
        column("addresses", Json()),
        column("settings", Json()),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    with fresh_database_factory() as url:
        migrate.upgrade(url, "0012")  # just before the restrictions migration
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(tenants).values(id=CONTOSO, name="", settings={"auto_sync": "marked"}, created_at=now)
                )
                for oid, settings in (
                    ("a", {"auto_sync": "known_contacts", "language": "pl"}),
                    ("b", {"auto_sync": "off"}),
                    ("c", {}),
                ):
                    conn.execute(
                        insert(users).values(
                            tenant_id=CONTOSO,
                            oid=oid,
                            upn="",
                            display_name="",
                            addresses=[],
                            settings=settings,
                            created_at=now,
                        )
                    )
            migrate.upgrade(url)
            restricted = table("users", column("oid"), column("settings", Json()), column("restrictions", Json()))
            with engine.connect() as conn:
                rows = conn.execute(select(restricted).order_by(restricted.c.oid)).all()
        finally:
            engine.dispose()
    found = {oid: (settings, restrictions) for oid, settings, restrictions in rows}
    assert found == {"a": ({"language": "pl"}, {}), "b": ({"auto_sync": "off"}, {}), "c": ({}, {})}
