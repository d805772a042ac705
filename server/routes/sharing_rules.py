"""A case's sharing rules: new mail of a mailbox from/to an address is filed to the
case. List everyone's, add and remove your own."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.crm import cases
from server.routes.case_json import rule_json
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY, not_found
from server.routes.schemas.cases import NewSharingRuleSchema, SharingRuleCreatedSchema, SharingRuleListSchema

bp = Blueprint(
    "sharing_rules",
    __name__,
    url_prefix="/api/v1",
    description="Sharing rules: mail from/to an address filed to a case",
)


@bp.get("/cases/<int:case_id>/sharing-rules")
@require_auth
@bp.response(200, SharingRuleListSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "case")
def list_sharing_rules(case_id):
    """Every mailbox's sharing rules on a case."""
    mailbox = current_mailbox()
    case = cases.get_case(mailbox.session, mailbox.tenant_id, case_id)
    rules = cases.sharing_rules_of_case(mailbox.session, mailbox.tenant_id, case)
    users = cases.users_by_id(mailbox.session, mailbox.tenant_id, [r.user_id for r in rules])
    return {"rules": [rule_json(mailbox, r, users) for r in rules], "warning": cases.SHARING_RULE_WARNING}


@bp.post("/cases/<int:case_id>/sharing-rules")
@require_auth
@bp.arguments(NewSharingRuleSchema)
@bp.response(201, SharingRuleCreatedSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "case")
def add_sharing_rule(body, case_id):
    """File all new mail of your mailbox from/to an address to this case."""
    mailbox = current_mailbox()
    case = cases.get_case(mailbox.session, mailbox.tenant_id, case_id)
    rule, created = cases.add_sharing_rule(mailbox.session, mailbox.tenant_id, mailbox.user, case, body["address"])
    return {
        "rule": rule_json(mailbox, rule, {mailbox.user.id: mailbox.user}),
        "created": created,
        "warning": cases.SHARING_RULE_WARNING,
    }


@bp.delete("/cases/<int:case_id>/sharing-rules/<int:rule_id>")
@require_auth
@bp.response(204)
@bp.doc(security=SECURITY)
@not_found(bp, "sharing rule")
def delete_sharing_rule(case_id, rule_id):
    """Remove one of your sharing rules."""
    mailbox = current_mailbox()
    case = cases.get_case(mailbox.session, mailbox.tenant_id, case_id)
    cases.delete_sharing_rule(mailbox.session, mailbox.tenant_id, mailbox.user, case, rule_id)
