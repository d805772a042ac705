"""Prepared reads (crm/prepared.py): the rows SQLAlchemy's own execution gives, with the
same types, in the session's transaction, seen by the engine's cursor events, and with
SQLAlchemy's error handling when the database refuses."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, event, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.crm.caller_view import _CALLER
from server.crm.models import Tenant, User
from server.crm.prepared import Prepared
from server.crm.tenants import get_or_create_user
from server.crm.types import utcnow
from server.db import Database
from tests.support.identities import CONTOSO

_users, _tenants = User.__table__, Tenant.__table__


@pytest.fixture
def session(app, clean_state):
    with Database.state(app).session_factory() as session:
        yield session


def arrange(session) -> User:
    user = get_or_create_user(session, CONTOSO, "oid-p", "pia@contoso.com", "Pia")
    user.remember_addresses(["Pia@Alias.Example"])
    user.update_settings(auto_sync="known_contacts", never_sync=["spam@example.com"])
    session.commit()
    return user


def test_rows_are_what_sqlalchemy_gives_with_the_same_types(session):
    arrange(session)
    params = {"tid": CONTOSO, "oid": "oid-p"}
    expected = session.execute(_CALLER.statement, params).one()
    row = _CALLER.first(session, params)
    assert tuple(row) == tuple(expected)
    assert row.settings == {"auto_sync": "known_contacts", "never_sync": ["spam@example.com"]}
    assert row.created_at.tzinfo == UTC  # the UTC type's processing, on SQLite too
    assert row.addresses == expected.addresses and isinstance(row.addresses, list)
    assert _CALLER.first(session, {"tid": CONTOSO, "oid": "nobody"}) is None


def test_reads_see_the_sessions_own_uncommitted_writes(session):
    user = arrange(session)
    user.display_name = "Pia Renamed"
    session.flush()  # written in the session's transaction, not committed
    statement = Prepared(select(_users.c.display_name).where(_users.c.id == bindparam("id")))
    assert statement.first(session, {"id": user.id}).display_name == "Pia Renamed"
    session.rollback()
    assert statement.first(session, {"id": user.id}).display_name == "Pia"


def test_the_engines_cursor_events_see_every_statement(session):
    user = arrange(session)
    seen = []

    def note(_conn, _cursor, statement, parameters, context, executemany):
        seen.append((statement, executemany))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        Prepared(select(_users.c.id).where(_users.c.id == bindparam("id"))).rows(session, {"id": user.id})
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(seen) == 1 and seen[0][0].startswith("SELECT users.id") and seen[0][1] is False


def test_only_fixed_sql_can_be_prepared(session):
    expanding = Prepared(select(_users.c.id).where(_users.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="fixed"):
        expanding.rows(session, {"ids": [1, 2]})


def test_a_refused_statement_raises_sqlalchemys_error(session):
    missing = Table("no_such_table", MetaData(), Column("id", Integer))
    with pytest.raises(DBAPIError, match="no_such_table"):
        Prepared(select(missing.c.id).where(missing.c.id == bindparam("id"))).rows(session, {"id": 1})


def test_a_write_joins_the_transaction_and_a_refusal_is_sqlalchemys_error(session):
    insert = Prepared(_tenants.insert().returning(_tenants.c.id), columns=("id", "name", "settings", "created_at"))
    values = {"id": "tenant-p", "name": "Prepared", "settings": {"a": 1}, "created_at": utcnow()}
    assert insert.first(session, values).id == "tenant-p"
    assert session.get(Tenant, "tenant-p").settings == {"a": 1}  # the JSON column's processing
    with pytest.raises(IntegrityError):
        insert.rows(session, values)
    session.rollback()
    assert session.get(Tenant, "tenant-p") is None  # it was the session's transaction
