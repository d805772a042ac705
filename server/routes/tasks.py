"""Tasks, alone or on a case: list, create, get."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.crm import cases
from server.routes.case_json import task_json
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY, not_found
from server.routes.schemas.cases import NewTaskSchema, TaskListArgs, TaskListSchema, TaskSchema

bp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Tasks, alone or on a case")


@bp.get("/tasks")
@require_auth
@bp.arguments(TaskListArgs, location="query")
@bp.response(200, TaskListSchema)
@bp.doc(security=SECURITY)
def list_tasks(args):
    """List the tenant's tasks (of one case), newest first."""
    mailbox = current_mailbox()
    if args.get("case_id") is not None:
        cases.get_case(mailbox.session, mailbox.tenant_id, args["case_id"])
    found = cases.list_tasks(
        mailbox.session,
        mailbox.tenant_id,
        case_id=args.get("case_id"),
        query=args.get("q"),
        done=args.get("done"),
        before_id=args.get("before_id"),
        limit=args["limit"],
    )
    return {
        "tasks": [task_json(mailbox, t) for t in found],
        "next_before_id": found[-1].id if len(found) == args["limit"] else None,
    }


@bp.post("/tasks")
@require_auth
@bp.arguments(NewTaskSchema)
@bp.response(201, TaskSchema)
@bp.doc(security=SECURITY)
def create_task(body):
    """Create a task (on a case)."""
    mailbox = current_mailbox()
    return task_json(
        mailbox,
        cases.create_task(
            mailbox.session,
            mailbox.tenant_id,
            mailbox.user,
            body["title"],
            body["description"],
            body["case_id"],
            body["due_at"],
        ),
    )


@bp.get("/tasks/<int:task_id>")
@require_auth
@bp.response(200, TaskSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "task")
def get_task(task_id):
    """One task."""
    mailbox = current_mailbox()
    return task_json(mailbox, cases.get_task(mailbox.session, mailbox.tenant_id, task_id))
