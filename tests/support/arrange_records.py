"""Arranging CRM records (filed mail, cases, tasks, sharing rules, user settings), filing
through the same code that files mail."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from server.crm.filing import file_email, set_item_state
from server.crm.models import Case, EmailLink, SharingRule, Task, User
from server.crm.tenants import get_or_create_user
from server.db import session_scope
from server.graph.properties import SYNC_STATE

_ids = itertools.count(1)
BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def user_of(session, tid: str, oid: str, upn: str):
    user = get_or_create_user(session, tid, oid, upn=upn, name=upn.split("@")[0].replace(".", " ").title())
    session.commit()
    return user


def filed_email(
    session,
    user,
    *,
    subject="Quarterly numbers",
    body_html="<p>Hello</p>",
    sender=None,
    to=(),
    links=(),
    conversation_id=None,
    attachments=(),
    minutes=0,
    undated=False,
):
    """Files one message for `user` (as Sync email would) and returns the Email."""
    n = next(_ids)
    sender = sender or ("Lynne Robbins", "lynne.robbins@northwind.example")
    fields = {
        "internet_message_id": f"<web-test-{n}@example>",
        "conversation_id": conversation_id,
        "subject": subject,
        "from_address": sender[1],
        "from_name": sender[0],
        "to": [{"address": a, "name": ""} for a in to] or [{"address": user.upn, "name": user.display_name}],
        "sent_at": None if undated else BASE_TIME + timedelta(minutes=minutes or n),
        "received_at": BASE_TIME + timedelta(minutes=minutes or n),
        "body_html": body_html,
        "has_attachments": bool(attachments),
        "attachments": list(attachments),
    }
    email, _item, _created = file_email(session, user.tenant_id, user, fields, f"graph-{n}", "inbox", links)
    return email


def add_case(session, tid: str, title: str, user=None) -> Case:
    case = Case(
        tenant_id=tid, title=title, description="Opened from a customer call.", created_by_id=user.id if user else None
    )
    session.add(case)
    session.commit()
    return case


def add_task(session, tid: str, title: str, case: Case | None = None) -> Task:
    task = Task(tenant_id=tid, title=title, case_id=case.id if case else None)
    session.add(task)
    session.commit()
    return task


def add_rule(session, user, case: Case, address: str) -> SharingRule:
    rule = SharingRule(
        tenant_id=user.tenant_id, user_id=user.id, case_id=case.id, address=address, created_by_id=user.id
    )
    session.add(rule)
    session.commit()
    return rule


def link(session, email, target_type: str, target_id: int, source: str = "manual") -> None:
    session.add(
        EmailLink(
            tenant_id=email.tenant_id, email_id=email.id, target_type=target_type, target_id=target_id, source=source
        )
    )
    session.commit()


def set_settings(app, user_id: int, **settings) -> None:
    with session_scope(app) as session:
        user = session.get(User, user_id)
        user.update_settings(**settings)


def mark_pending_without_category(app, emulator, user_id: int, message_id: str) -> None:
    """A message waiting as `pending` (marked unsynced) without our "Sync to CRM"
    category, as another client leaves it: the CRM's record and Outlook's property.
    The category would be a command in every mode; the bare state is filed only by
    automatic sync (when on) or bulk sync."""
    with session_scope(app) as session:
        user = session.get(User, user_id)
        set_item_state(session, user.tenant_id, user, message_id, "pending")
        upn = user.upn
        session.commit()
    response = emulator.graph(
        "PATCH",
        f"/me/messages/{message_id}",
        emulator.graph_token(upn),
        json={"singleValueExtendedProperties": [{"id": SYNC_STATE, "value": "pending"}]},
    )
    response.raise_for_status()
