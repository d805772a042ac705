"""The tasks' pages (/crm/tasks...): the list, newest first, and one task with its
case and emails."""

from __future__ import annotations

from flask import render_template, request

from server.crm.models import Case, Task
from server.db import db_session
from server.web import page_queries
from server.web.blueprint import bp
from server.web.tenant_scope import found, tenant


@bp.get("/crm/tasks")
def tasks():
    """Tasks, newest first."""
    page = page_queries.tasks_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/tasks.html", page=page)


@bp.get("/crm/tasks/<int:task_id>")
def task(task_id: int):
    """One task: details, its case and the emails filed on it."""
    db = db_session()
    item = found(Task.get(db, tenant(), task_id))
    case_ = Case.get(db, tenant(), item.case_id) if item.case_id else None
    page = page_queries.emails_page(db, tenant(), request.args.get("after"), ("task", item.id))
    return render_template("crm/task.html", task=item, case=case_, page=page)
