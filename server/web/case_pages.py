"""The cases' pages (/crm/cases...): the list, newest first, and one case with its
emails, tasks and sharing rules."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from server.crm import cases as crm_cases
from server.crm.models import Case, Task
from server.db import db_session
from server.web import page_queries
from server.web.blueprint import bp
from server.web.tenant_scope import found, tenant


@bp.get("/crm/cases")
def cases():
    """Cases, newest first."""
    page = page_queries.cases_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/cases.html", page=page)


@bp.get("/crm/cases/<int:case_id>")
def case(case_id: int):
    """One case: its emails, tasks and the sharing rules that file mail to it."""
    db = db_session()
    item = found(Case.get(db, tenant(), case_id))
    tasks = db.scalars(
        select(Task)
        .where(Task.tenant_id == tenant(), Task.case_id == item.id)
        .order_by(Task.done, Task.id.desc())
        .limit(100)
    ).all()
    page = page_queries.emails_page(db, tenant(), request.args.get("after"), ("case", item.id))
    rules = crm_cases.sharing_rules_of_case(db, tenant(), item)
    return render_template(
        "crm/case.html",
        case=item,
        tasks=tasks,
        rules=rules,
        rule_owners=crm_cases.users_by_id(db, tenant(), [r.user_id for r in rules]),
        page=page,
    )
