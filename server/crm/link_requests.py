"""The case and task a link request points at: existing ones checked, described ones
created, so linking an email or a conversation to a new case is one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from server.crm.cases import create_case, create_task, get_case, get_task
from server.crm.models import Case, Task, User


@dataclass
class LinkTargets:
    """(target_type, target_id) pairs to link to, and the case and task created for them."""

    pairs: list[tuple[str, int]] = field(default_factory=list)
    new_case: Case | None = None
    new_task: Task | None = None


def resolve_targets(session: Session, tenant_id: str, user: User | None, request: Mapping[str, Any]) -> LinkTargets:
    """The case and/or task of a link request: `case_id` and `task_id` name existing
    ones; `new_case` and `new_task` ({title, description}, a task also `case_id` and
    `due_at`) are created, a new task on the request's case unless it names its own.
    Raises NoSuchRecord for a case or task not in the tenant, Invalid for an empty title."""
    targets = LinkTargets()
    case_id = request.get("case_id")
    if case_id is not None:
        get_case(session, tenant_id, case_id)
    if "new_case" in request:
        spec = request["new_case"]
        targets.new_case = create_case(session, tenant_id, user, spec["title"], spec["description"])
        case_id = targets.new_case.id
    if case_id is not None:
        targets.pairs.append(("case", case_id))
    task_id = request.get("task_id")
    if task_id is not None:
        get_task(session, tenant_id, task_id)
    if "new_task" in request:
        spec = request["new_task"]
        targets.new_task = create_task(
            session,
            tenant_id,
            user,
            spec["title"],
            spec["description"],
            spec["case_id"] if spec.get("case_id") is not None else case_id,
            spec["due_at"],
        )
        task_id = targets.new_task.id
    if task_id is not None:
        targets.pairs.append(("task", task_id))
    return targets
