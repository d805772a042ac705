"""A filed email's links to cases and tasks: show, link (to new ones too), unlink.
Emails are addressed by their CRM id (the `crm_email_id` of a synced message)."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.crm import cases
from server.crm.link_requests import resolve_targets
from server.errors import ApiError
from server.routes.case_json import created_json, links_json
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY, not_found
from server.routes.schemas.cases import EmailLinksSchema, TargetsSchema

bp = Blueprint("email_links", __name__, url_prefix="/api/v1", description="A filed email's links to cases and tasks")


@bp.get("/emails/<int:email_id>/links")
@require_auth
@bp.response(200, EmailLinksSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def email_links(email_id):
    """What a filed email is linked to."""
    mailbox = current_mailbox()
    return links_json(mailbox, cases.get_email(mailbox.session, mailbox.tenant_id, email_id))


@bp.post("/emails/<int:email_id>/links")
@require_auth
@bp.arguments(TargetsSchema)
@bp.response(200, EmailLinksSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def link_email(body, email_id):
    """Link a filed email to a case and/or task, existing or created inline."""
    mailbox = current_mailbox()
    email = cases.get_email(mailbox.session, mailbox.tenant_id, email_id)
    targets = resolve_targets(mailbox.session, mailbox.tenant_id, mailbox.user, body)
    cases.link_email_to(mailbox.session, mailbox.tenant_id, mailbox.user, email, targets.pairs)
    return links_json(mailbox, email, created_json(mailbox, targets))


@bp.delete("/emails/<int:email_id>/links/<any(case,task,contact,company):target_type>/<int:target_id>")
@require_auth
@bp.response(200, EmailLinksSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def unlink_email(email_id, target_type, target_id):
    """Remove one link of a filed email (the email stays filed)."""
    mailbox = current_mailbox()
    email = cases.get_email(mailbox.session, mailbox.tenant_id, email_id)
    if not cases.unlink_email(mailbox.session, mailbox.tenant_id, email, target_type, target_id):
        raise ApiError(404, "link_not_found", "The email is not linked to that record.")
    return links_json(mailbox, email)
