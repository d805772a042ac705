"""Cases: list (search by title), create, get."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.crm import cases
from server.routes.case_json import case_json
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY, not_found
from server.routes.schemas.cases import CaseListArgs, CaseListSchema, CaseSchema, NewCaseSchema

bp = Blueprint("cases", __name__, url_prefix="/api/v1", description="Cases of the organisation")


@bp.get("/cases")
@require_auth
@bp.arguments(CaseListArgs, location="query")
@bp.response(200, CaseListSchema)
@bp.doc(security=SECURITY)
def list_cases(args):
    """List the tenant's cases, newest first (search by title)."""
    mailbox = current_mailbox()
    found = cases.list_cases(
        mailbox.session,
        mailbox.tenant_id,
        query=args.get("q"),
        status=args.get("status"),
        before_id=args.get("before_id"),
        limit=args["limit"],
    )
    return {
        "cases": [case_json(mailbox, c) for c in found],
        "next_before_id": found[-1].id if len(found) == args["limit"] else None,
    }


@bp.post("/cases")
@require_auth
@bp.arguments(NewCaseSchema)
@bp.response(201, CaseSchema)
@bp.doc(security=SECURITY)
def create_case(body):
    """Create a case."""
    mailbox = current_mailbox()
    return case_json(
        mailbox, cases.create_case(mailbox.session, mailbox.tenant_id, mailbox.user, body["title"], body["description"])
    )


@bp.get("/cases/<int:case_id>")
@require_auth
@bp.response(200, CaseSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "case")
def get_case(case_id):
    """One case."""
    mailbox = current_mailbox()
    return case_json(mailbox, cases.get_case(mailbox.session, mailbox.tenant_id, case_id))
