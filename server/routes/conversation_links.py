"""Conversation links: a filed email's whole conversation (filed and future messages)
linked to a case or task; show, link, stop linking."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.crm import cases
from server.crm.link_requests import resolve_targets
from server.errors import ApiError
from server.routes.case_json import conversation_links_json, created_json
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY, not_found
from server.routes.schemas.cases import ConversationLinksSchema, TargetsSchema

bp = Blueprint(
    "conversation_links", __name__, url_prefix="/api/v1", description="Conversations linked to cases and tasks"
)


@bp.get("/emails/<int:email_id>/conversation-links")
@require_auth
@bp.response(200, ConversationLinksSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def conversation_links(email_id):
    """Everyone's links of a filed email's conversation (`mine`: the caller's own)."""
    mailbox = current_mailbox()
    email = cases.get_email(mailbox.session, mailbox.tenant_id, email_id)
    return {"conversation_id": email.conversation_id, "links": conversation_links_json(mailbox, email.conversation_id)}


@bp.post("/emails/<int:email_id>/conversation-links")
@require_auth
@bp.arguments(TargetsSchema)
@bp.response(200, ConversationLinksSchema)
@bp.doc(security=SECURITY)
@not_found(bp, "email")
def link_conversation(body, email_id):
    """Link a filed email's whole conversation to a case and/or task: its emails in the
    CRM now, and its future messages in YOUR mailbox (a colleague's mailbox only by
    their own link)."""
    mailbox = current_mailbox()
    email = cases.get_email(mailbox.session, mailbox.tenant_id, email_id)
    if not email.conversation_id:
        raise ApiError(400, "no_conversation", "This email does not belong to a conversation.")
    targets = resolve_targets(mailbox.session, mailbox.tenant_id, mailbox.user, body)
    added = 0
    for target_type, target_id in targets.pairs:
        _, count = cases.link_conversation(
            mailbox.session, mailbox.tenant_id, mailbox.user, email.conversation_id, target_type, target_id
        )
        added += count
    answer = {
        "conversation_id": email.conversation_id,
        "links": conversation_links_json(mailbox, email.conversation_id),
        "linked_emails": added,
    }
    created = created_json(mailbox, targets)
    if created:
        answer["created"] = created
    return answer


@bp.delete("/conversation-links/<int:link_id>")
@require_auth
@bp.response(204)
@bp.doc(security=SECURITY)
@not_found(bp, "conversation link")
def unlink_conversation(link_id):
    """Stop your link of a conversation: its future messages in your mailbox are no
    longer filed there (filed ones keep their links). Only its maker removes a link."""
    mailbox = current_mailbox()
    cases.unlink_conversation(mailbox.session, mailbox.tenant_id, mailbox.user, link_id)
