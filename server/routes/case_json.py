"""The JSON the case, task, link, note and sharing-rule routes answer with: records
with their CRM page URLs, and who wrote or owns them."""

from __future__ import annotations

from server.crm.cases import email_links, record_title, users_by_id
from server.crm.link_requests import LinkTargets
from server.crm.models import Case, ConversationLink, Email, EmailLink, Note, SharingRule, Task
from server.sync.mailbox import Mailbox


def case_json(mailbox: Mailbox, case: Case) -> dict:
    return {
        "id": case.id,
        "title": case.title,
        "description": case.description,
        "status": case.status,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "url": mailbox.links.case(case.id),
    }


def task_json(mailbox: Mailbox, task: Task) -> dict:
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "case_id": task.case_id,
        "due_at": task.due_at,
        "done": task.done,
        "created_at": task.created_at,
        "url": mailbox.links.task(task.id),
    }


def created_json(mailbox: Mailbox, targets: LinkTargets) -> dict:
    """The case and task a link request created, as `created` of its answer."""
    created = {}
    if targets.new_case is not None:
        created["case"] = case_json(mailbox, targets.new_case)
    if targets.new_task is not None:
        created["task"] = task_json(mailbox, targets.new_task)
    return created


def _target_url(mailbox: Mailbox, target_type: str, target_id: int) -> str:
    return getattr(mailbox.links, target_type)(target_id)


def links_json(mailbox: Mailbox, email: Email, created: dict | None = None) -> dict:
    session, tenant = mailbox.session, mailbox.tenant_id
    links: list[EmailLink] = email_links(session, tenant, email)
    body = {
        "email_id": email.id,
        "links": [
            {
                "target_type": link.target_type,
                "target_id": link.target_id,
                "source": link.source,
                "title": record_title(session, tenant, link.target_type, link.target_id),
                "url": _target_url(mailbox, link.target_type, link.target_id),
            }
            for link in links
        ],
    }
    if created:
        body["created"] = created
    return body


def note_json(mailbox: Mailbox, note: Note, authors: dict) -> dict:
    author = authors.get(note.author_id)
    return {
        "id": note.id,
        "email_id": note.email_id,
        "body": note.body,
        "author": None if author is None else {"id": author.id, "name": author.display_name or author.upn},
        "mine": note.author_id == mailbox.user.id,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


def conversation_link_json(mailbox: Mailbox, link: ConversationLink, users: dict) -> dict:
    maker = users.get(link.created_by_id)
    return {
        "id": link.id,
        "conversation_id": link.conversation_id,
        "target_type": link.target_type,
        "target_id": link.target_id,
        "title": record_title(mailbox.session, mailbox.tenant_id, link.target_type, link.target_id),
        "url": _target_url(mailbox, link.target_type, link.target_id),
        "created_at": link.created_at,
        "mine": link.created_by_id == mailbox.user.id,
        "made_by": (maker.display_name or maker.upn) if maker else "",
    }


def conversation_links_json(mailbox: Mailbox, conversation_id: str | None) -> list[dict]:
    """Every user's links of a conversation, oldest first (each files only its maker's mailbox)."""
    links = sorted(
        ConversationLink.for_conversation(mailbox.session, mailbox.tenant_id, conversation_id), key=lambda link: link.id
    )
    users = users_by_id(mailbox.session, mailbox.tenant_id, [link.created_by_id for link in links])
    return [conversation_link_json(mailbox, link, users) for link in links]


def rule_json(mailbox: Mailbox, rule: SharingRule, users: dict) -> dict:
    owner = users.get(rule.user_id)
    return {
        "id": rule.id,
        "case_id": rule.case_id,
        "address": rule.address,
        "mailbox": (owner.upn or owner.display_name) if owner else "",
        "mine": rule.user_id == mailbox.user.id,
        "created_at": rule.created_at,
    }
