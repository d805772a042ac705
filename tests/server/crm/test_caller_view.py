"""The caller as a read-only view (crm/caller_view.py): what it answers is what the row
answers, it is used only when get_or_create_user would write nothing, and whatever
writes goes to the row or through an UPDATE, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from server.crm.caller_view import UserView, read_caller
from server.crm.models import Tenant, User
from server.crm.tenants import caller, get_or_create_user, is_current, note_domains, remember_own_addresses
from server.crm.types import utcnow
from server.db import Database
from server.sync.links import CrmLinks
from server.sync.mailbox import Mailbox
from tests.support.identities import CONTOSO, FABRIKAM

UPN = "megan@contoso.com"


@pytest.fixture
def session(app, clean_state):
    with Database.state(app).session_factory() as session:
        yield session


def arrange(session) -> User:
    user = get_or_create_user(session, CONTOSO, "oid-m", UPN, "Megan Bowen")
    user.remember_addresses(["Megan@Alias.Example"])
    note_domains(session, user)
    user.update_settings(auto_sync="known_contacts", never_sync=["spam@example.com"])
    user.restrict(auto_sync="marked", never_sync=["hr@contoso.com"])
    user.tenant.update_settings(auto_link_companies=False, never_sync=["tenant@example.com"])
    user.time_zone = "Europe/Prague"
    session.commit()
    return user


def test_the_view_answers_what_the_row_answers(session):
    row = arrange(session)
    view = read_caller(session, CONTOSO, "oid-m")
    assert isinstance(view, UserView)
    for name in ("id", "tenant_id", "oid", "upn", "display_name", "addresses", "time_zone", "settings", "restrictions"):
        assert getattr(view, name) == getattr(row, name), name
    assert view.tenant.id == CONTOSO and view.tenant.domains == row.tenant.domains
    assert view.own_addresses() == row.own_addresses() == {UPN, "megan@alias.example"}
    assert view.effective_settings() == row.effective_settings()
    assert view.chosen_settings() == row.chosen_settings()
    assert view.tenant.effective_settings() == row.tenant.effective_settings()
    # Scoped to the tenant: the same oid elsewhere is another user, or none.
    assert read_caller(session, FABRIKAM, "oid-m") is None


@pytest.mark.parametrize(
    ("upn", "name", "current"),
    [
        (UPN, "Megan Bowen", True),
        ("", "", True),  # a token without them changes nothing
        ("megan.bowen@contoso.com", "Megan Bowen", False),  # a new upn
        (UPN, "Megan B.", False),  # a new display name
    ],
)
def test_the_view_is_used_only_when_get_or_create_user_would_write_nothing(session, upn, name, current):
    arrange(session)
    view = read_caller(session, CONTOSO, "oid-m")
    assert is_current(view, upn, name) is current
    got = caller(session, CONTOSO, "oid-m", upn, name)
    assert isinstance(got, UserView) is current
    # The proof: get_or_create_user on the row then writes nothing exactly when current.
    session.rollback()
    written = []

    def note(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith("SELECT"):
            written.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", note)
    try:
        row = get_or_create_user(session, CONTOSO, "oid-m", upn, name)
        session.flush()
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", note)
    assert (written == []) is current, written
    assert row.upn == (upn or UPN)


def test_a_tenant_without_recorded_domains_takes_the_row(session):
    arrange(session)
    session.execute(Tenant.__table__.update().values(domains=None))
    session.commit()
    assert isinstance(caller(session, CONTOSO, "oid-m", UPN, "Megan Bowen"), User)
    assert isinstance(caller(session, CONTOSO, "new-oid", "new@contoso.com", "New"), User)  # created


def test_a_mailbox_on_a_view_loads_the_row_only_for_writers(session):
    arrange(session)
    view = caller(session, CONTOSO, "oid-m", UPN, "Megan Bowen")
    mailbox = Mailbox(session, view, graph=None, links=CrmLinks("https://crm.example"))
    assert mailbox.me is view and mailbox.tenant_id == CONTOSO
    assert mailbox.settings() == view.effective_settings()
    row = mailbox.user  # a writer asks: the row, with its tenant
    assert isinstance(row, User) and row.id == view.id and row.tenant.id == CONTOSO
    assert mailbox.me is row  # reads now see what the writer changes
    row.update_settings(ask_on_send=True)
    assert mailbox.settings()["ask_on_send"] is True


def test_own_addresses_read_from_graph_are_written_through_the_view(session):
    arrange(session)
    view = caller(session, CONTOSO, "oid-m", UPN, "Megan Bowen")
    now = utcnow().replace(microsecond=0)
    remember_own_addresses(session, view, ["Megan@New-Domain.Example", "megan@alias.example"], now)
    session.commit()
    assert view.addresses == [UPN, "megan@alias.example", "megan@new-domain.example"]
    session.expire_all()
    row = session.scalar(select(User).where(User.oid == "oid-m"))
    assert row.addresses == view.addresses
    assert abs(row.addresses_checked_at - now) < timedelta(seconds=1)
    assert "new-domain.example" in row.tenant.domains and view.tenant.domains == row.tenant.domains
