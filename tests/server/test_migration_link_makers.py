"""The migration that gives conversation links and sharing rules their makers: existing
links keep the maker they stored, a maker-less one files nobody, and a rule without a
maker gets its mailbox's owner (the only one who could make it); after it, two users
may link the same thread to the same record, each for their own mailbox; a downgrade
keeps the oldest of such twins."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from server import migrate
from server.db import make_engine

STAMP = "2026-01-01 00:00:00+00:00"
BEFORE = "0008"


def arrange(conn) -> None:
    conn.execute(
        text("INSERT INTO tenants (id, name, settings, created_at) VALUES ('t1', '', '{}', :now)"), {"now": STAMP}
    )
    conn.execute(
        text(
            "INSERT INTO users (id, tenant_id, oid, upn, display_name, addresses, settings, created_at) "
            "VALUES (:id, 't1', :oid, :upn, '', '[]', '{}', :now)"
        ),
        [{"id": 1, "oid": "o1", "upn": "a@t1", "now": STAMP}, {"id": 2, "oid": "o2", "upn": "b@t1", "now": STAMP}],
    )
    conn.execute(
        text(
            "INSERT INTO cases (id, tenant_id, title, description, status, created_at, updated_at) "
            "VALUES (1, 't1', 'C', '', 'open', :now, :now)"
        ),
        {"now": STAMP},
    )
    conn.execute(
        text(
            "INSERT INTO conversation_links (id, tenant_id, conversation_id, target_type, target_id, created_by_id, "
            "created_at) VALUES (:id, 't1', :conv, 'case', 1, :maker, :now)"
        ),
        [
            {"id": 1, "conv": "thread-1", "maker": 1, "now": STAMP},
            {"id": 2, "conv": "thread-2", "maker": None, "now": STAMP},
        ],
    )
    conn.execute(
        text(
            "INSERT INTO sharing_rules (id, tenant_id, user_id, case_id, address, created_by_id, created_at) "
            "VALUES (:id, 't1', :owner, 1, :address, :maker, :now)"
        ),
        [
            {"id": 1, "owner": 2, "address": "x@example.com", "maker": None, "now": STAMP},
            {"id": 2, "owner": 1, "address": "x@example.com", "maker": 1, "now": STAMP},
        ],
    )


def add_link(conn, link_id: int, conversation: str, maker: int | None) -> None:
    conn.execute(
        text(
            "INSERT INTO conversation_links (id, tenant_id, conversation_id, target_type, target_id, created_by_id, "
            "created_at) VALUES (:id, 't1', :conv, 'case', 1, :maker, :now)"
        ),
        {"id": link_id, "conv": conversation, "maker": maker, "now": STAMP},
    )


def test_makers_are_kept_backfilled_and_each_user_may_link_the_same_thread(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url, BEFORE)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                arrange(conn)
                # Before: one link per thread and record, whoever asked second.
                with pytest.raises(IntegrityError), conn.begin_nested():
                    add_link(conn, 3, "thread-1", 2)
            migrate.upgrade(url)
            with engine.begin() as conn:
                add_link(conn, 3, "thread-1", 2)  # Megan's own link, beside Adele's
                with pytest.raises(IntegrityError), conn.begin_nested():
                    add_link(conn, 4, "thread-1", 2)  # but only one each
            with engine.connect() as conn:
                links = conn.execute(
                    text("SELECT id, conversation_id, created_by_id FROM conversation_links ORDER BY id")
                ).all()
                rules = conn.execute(text("SELECT id, user_id, created_by_id FROM sharing_rules ORDER BY id")).all()
            assert links == [(1, "thread-1", 1), (2, "thread-2", None), (3, "thread-1", 2)]
            assert rules == [(1, 2, 2), (2, 1, 1)]

            migrate.downgrade(url, BEFORE)
            with engine.connect() as conn:
                kept = conn.execute(text("SELECT id, created_by_id FROM conversation_links ORDER BY id")).all()
            assert kept == [(1, 1), (2, None)]
        finally:
            engine.dispose()
