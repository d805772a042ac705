"""Cases and tasks, a filed email's links to them, its notes, conversation links,
and the sharing rules of a case. Emails are addressed by their CRM id (the
`crm_email_id` of a synced message)."""
from __future__ import annotations

import marshmallow as ma

from server.api import Blueprint, ErrorSchema
from server.auth import require_auth
from server.crm import cases as crm
from server.crm.models import Case, ConversationLink, EmailLink, Note, SharingRule, Task
from server.errors import ApiError
from server.routes.current import current_mailbox
from server.sync.mailbox import Mailbox

bp = Blueprint("cases", __name__, url_prefix="/api/v1",
               description="Cases, tasks, notes and conversation links of filed emails")

SECURITY = [{"bearerAuth": []}]


def not_found(what: str):
    """Documents the 404 a route answers for a record outside the caller's tenant."""
    return bp.alt_response(404, schema=ErrorSchema, description=f"No such {what} in your organisation")
TITLE = ma.validate.Length(min=1, max=512)


def _call(call, *args):
    """Runs a crm.cases call, answering its failures in the one error shape."""
    try:
        return call(*args)
    except crm.NotFound as error:
        raise ApiError(404, f"{error.kind}_not_found",
                       f"That {error.kind.replace('_', ' ')} does not exist.") from error
    except PermissionError as error:
        raise ApiError(403, "forbidden", str(error).capitalize() + ".") from error
    except ValueError as error:
        raise ApiError(400, "invalid_request", str(error).capitalize() + ".") from error


# -- schemas ----------------------------------------------------------------------------

class CaseSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String()
    status = ma.fields.String(required=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    url = ma.fields.String(required=True)


class NewCaseSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=TITLE)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=20000))


class CaseListArgs(ma.Schema):
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    status = ma.fields.String(validate=ma.validate.OneOf(crm.CASE_STATUSES))
    before_id = ma.fields.Integer(metadata={"description": "Keyset: the last id of the previous page"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=crm.PAGE_LIMIT))


class CaseListSchema(ma.Schema):
    cases = ma.fields.List(ma.fields.Nested(CaseSchema), required=True)
    next_before_id = ma.fields.Integer(allow_none=True)


class TaskSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String()
    case_id = ma.fields.Integer(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    done = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    url = ma.fields.String(required=True)


class NewTaskSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=TITLE)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=20000))
    case_id = ma.fields.Integer(allow_none=True, load_default=None)
    due_at = ma.fields.AwareDateTime(allow_none=True, load_default=None)


class TaskListArgs(ma.Schema):
    case_id = ma.fields.Integer()
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    done = ma.fields.Boolean()
    before_id = ma.fields.Integer()
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=crm.PAGE_LIMIT))


class TaskListSchema(ma.Schema):
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)
    next_before_id = ma.fields.Integer(allow_none=True)


class TargetsSchema(ma.Schema):
    """A case and/or a task, existing (`case_id`, `task_id`) or created inline
    (`new_case`, `new_task`; a new task goes on the case of this request unless it
    names its own)."""
    case_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    task_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    new_case = ma.fields.Nested(NewCaseSchema)
    new_task = ma.fields.Nested(NewTaskSchema)

    @ma.validates_schema
    def one_target(self, data, **kwargs):
        if not any(k in data for k in ("case_id", "task_id", "new_case", "new_task")):
            raise ma.ValidationError("Give case_id, task_id, new_case or new_task.")
        if "case_id" in data and "new_case" in data:
            raise ma.ValidationError("Give case_id or new_case, not both.")
        if "task_id" in data and "new_task" in data:
            raise ma.ValidationError("Give task_id or new_task, not both.")


class EmailLinkSchema(ma.Schema):
    target_type = ma.fields.String(required=True)
    target_id = ma.fields.Integer(required=True)
    source = ma.fields.String(required=True, metadata={
        "description": "address / company / manual / rule / conversation"})
    title = ma.fields.String(allow_none=True, metadata={"description": "Case or task title"})
    url = ma.fields.String(allow_none=True)


class CreatedSchema(ma.Schema):
    case = ma.fields.Nested(CaseSchema)
    task = ma.fields.Nested(TaskSchema)


class EmailLinksSchema(ma.Schema):
    email_id = ma.fields.Integer(required=True)
    links = ma.fields.List(ma.fields.Nested(EmailLinkSchema), required=True)
    created = ma.fields.Nested(CreatedSchema)


class AuthorSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String()


class NoteSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    email_id = ma.fields.Integer(required=True)
    body = ma.fields.String(required=True)
    author = ma.fields.Nested(AuthorSchema, allow_none=True)
    mine = ma.fields.Boolean(metadata={"description": "Written by the caller (who may delete it)"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class NewNoteSchema(ma.Schema):
    body = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20000))


class NoteListSchema(ma.Schema):
    notes = ma.fields.List(ma.fields.Nested(NoteSchema), required=True)


class ConversationLinkSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    conversation_id = ma.fields.String(required=True)
    target_type = ma.fields.String(required=True)
    target_id = ma.fields.Integer(required=True)
    title = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class ConversationLinksSchema(ma.Schema):
    conversation_id = ma.fields.String(allow_none=True, required=True)
    links = ma.fields.List(ma.fields.Nested(ConversationLinkSchema), required=True)
    linked_emails = ma.fields.Integer(metadata={"description": "Filed emails newly linked by this request"})
    created = ma.fields.Nested(CreatedSchema)


class SharingRuleSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    address = ma.fields.String(required=True)
    mailbox = ma.fields.String(required=True, metadata={"description": "Whose mailbox the rule files"})
    mine = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class NewSharingRuleSchema(ma.Schema):
    address = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=320))


class SharingRuleListSchema(ma.Schema):
    rules = ma.fields.List(ma.fields.Nested(SharingRuleSchema), required=True)
    warning = ma.fields.String(required=True)


class SharingRuleCreatedSchema(ma.Schema):
    rule = ma.fields.Nested(SharingRuleSchema, required=True)
    created = ma.fields.Boolean(required=True)
    warning = ma.fields.String(required=True)


# -- JSON of records ---------------------------------------------------------------------

def case_json(mailbox: Mailbox, case: Case) -> dict:
    return {"id": case.id, "title": case.title, "description": case.description, "status": case.status,
            "created_at": case.created_at, "updated_at": case.updated_at,
            "url": mailbox.links.case(case.id)}


def task_json(mailbox: Mailbox, task: Task) -> dict:
    return {"id": task.id, "title": task.title, "description": task.description, "case_id": task.case_id,
            "due_at": task.due_at, "done": task.done, "created_at": task.created_at,
            "url": mailbox.links.task(task.id)}


def _target_url(mailbox: Mailbox, target_type: str, target_id: int) -> str:
    return getattr(mailbox.links, target_type)(target_id)


def links_json(mailbox: Mailbox, email, created: dict | None = None) -> dict:
    session, tenant = mailbox.session, mailbox.tenant_id
    links: list[EmailLink] = crm.email_links(session, tenant, email)
    body = {"email_id": email.id, "links": [{
        "target_type": l.target_type, "target_id": l.target_id, "source": l.source,
        "title": crm.record_title(session, tenant, l.target_type, l.target_id),
        "url": _target_url(mailbox, l.target_type, l.target_id)} for l in links]}
    if created:
        body["created"] = created
    return body


def note_json(mailbox: Mailbox, note: Note, authors: dict) -> dict:
    author = authors.get(note.author_id)
    return {"id": note.id, "email_id": note.email_id, "body": note.body,
            "author": None if author is None else {"id": author.id, "name": author.display_name or author.upn},
            "mine": note.author_id == mailbox.user.id, "created_at": note.created_at,
            "updated_at": note.updated_at}


def conversation_link_json(mailbox: Mailbox, link: ConversationLink) -> dict:
    return {"id": link.id, "conversation_id": link.conversation_id, "target_type": link.target_type,
            "target_id": link.target_id,
            "title": crm.record_title(mailbox.session, mailbox.tenant_id, link.target_type, link.target_id),
            "url": _target_url(mailbox, link.target_type, link.target_id), "created_at": link.created_at}


def rule_json(mailbox: Mailbox, rule: SharingRule, users: dict) -> dict:
    owner = users.get(rule.user_id)
    return {"id": rule.id, "case_id": rule.case_id, "address": rule.address,
            "mailbox": (owner.upn or owner.display_name) if owner else "",
            "mine": rule.user_id == mailbox.user.id, "created_at": rule.created_at}


def _targets(mailbox: Mailbox, body: dict) -> tuple[list[tuple[str, int]], dict]:
    """Resolves (and creates inline) the case/task of a link request."""
    session, tenant, user = mailbox.session, mailbox.tenant_id, mailbox.user
    created: dict = {}
    targets: list[tuple[str, int]] = []
    case_id = body.get("case_id")
    if case_id is not None:
        _call(crm.get_case, session, tenant, case_id)
    if "new_case" in body:
        case = _call(crm.create_case, session, tenant, user, body["new_case"]["title"],
                     body["new_case"]["description"])
        created["case"] = case_json(mailbox, case)
        case_id = case.id
    if case_id is not None:
        targets.append(("case", case_id))
    task_id = body.get("task_id")
    if task_id is not None:
        _call(crm.get_task, session, tenant, task_id)
    if "new_task" in body:
        spec = body["new_task"]
        task = _call(crm.create_task, session, tenant, user, spec["title"], spec["description"],
                     spec["case_id"] if spec.get("case_id") is not None else case_id, spec["due_at"])
        created["task"] = task_json(mailbox, task)
        task_id = task.id
    if task_id is not None:
        targets.append(("task", task_id))
    return targets, created


def _email(mailbox: Mailbox, email_id: int):
    return _call(crm.get_email, mailbox.session, mailbox.tenant_id, email_id)


def _case(mailbox: Mailbox, case_id: int) -> Case:
    return _call(crm.get_case, mailbox.session, mailbox.tenant_id, case_id)


# -- cases and tasks ---------------------------------------------------------------------

@bp.get("/cases")
@require_auth
@bp.arguments(CaseListArgs, location="query")
@bp.response(200, CaseListSchema)
@bp.doc(security=SECURITY)
def list_cases(args):
    """List the tenant's cases, newest first (search by title)."""
    mailbox = current_mailbox()
    found = crm.list_cases(mailbox.session, mailbox.tenant_id, query=args.get("q"), status=args.get("status"),
                           before_id=args.get("before_id"), limit=args["limit"])
    return {"cases": [case_json(mailbox, c) for c in found],
            "next_before_id": found[-1].id if len(found) == args["limit"] else None}


@bp.post("/cases")
@require_auth
@bp.arguments(NewCaseSchema)
@bp.response(201, CaseSchema)
@bp.doc(security=SECURITY)
def create_case(body):
    """Create a case."""
    mailbox = current_mailbox()
    return case_json(mailbox, _call(crm.create_case, mailbox.session, mailbox.tenant_id, mailbox.user,
                                    body["title"], body["description"]))


@bp.get("/cases/<int:case_id>")
@require_auth
@bp.response(200, CaseSchema)
@bp.doc(security=SECURITY)
@not_found("case")
def get_case(case_id):
    """One case."""
    mailbox = current_mailbox()
    return case_json(mailbox, _case(mailbox, case_id))


@bp.get("/tasks")
@require_auth
@bp.arguments(TaskListArgs, location="query")
@bp.response(200, TaskListSchema)
@bp.doc(security=SECURITY)
def list_tasks(args):
    """List the tenant's tasks (of one case), newest first."""
    mailbox = current_mailbox()
    if args.get("case_id") is not None:
        _case(mailbox, args["case_id"])
    found = crm.list_tasks(mailbox.session, mailbox.tenant_id, case_id=args.get("case_id"), query=args.get("q"),
                           done=args.get("done"), before_id=args.get("before_id"), limit=args["limit"])
    return {"tasks": [task_json(mailbox, t) for t in found],
            "next_before_id": found[-1].id if len(found) == args["limit"] else None}


@bp.post("/tasks")
@require_auth
@bp.arguments(NewTaskSchema)
@bp.response(201, TaskSchema)
@bp.doc(security=SECURITY)
def create_task(body):
    """Create a task (on a case)."""
    mailbox = current_mailbox()
    return task_json(mailbox, _call(crm.create_task, mailbox.session, mailbox.tenant_id, mailbox.user,
                                    body["title"], body["description"], body["case_id"], body["due_at"]))


@bp.get("/tasks/<int:task_id>")
@require_auth
@bp.response(200, TaskSchema)
@bp.doc(security=SECURITY)
@not_found("task")
def get_task(task_id):
    """One task."""
    mailbox = current_mailbox()
    return task_json(mailbox, _call(crm.get_task, mailbox.session, mailbox.tenant_id, task_id))


# -- a filed email's links and notes ------------------------------------------------------

@bp.get("/emails/<int:email_id>/links")
@require_auth
@bp.response(200, EmailLinksSchema)
@bp.doc(security=SECURITY)
@not_found("email")
def email_links(email_id):
    """What a filed email is linked to."""
    mailbox = current_mailbox()
    return links_json(mailbox, _email(mailbox, email_id))


@bp.post("/emails/<int:email_id>/links")
@require_auth
@bp.arguments(TargetsSchema)
@bp.response(200, EmailLinksSchema)
@bp.doc(security=SECURITY)
@not_found("email")
def link_email(body, email_id):
    """Link a filed email to a case and/or task, existing or created inline."""
    mailbox = current_mailbox()
    email = _email(mailbox, email_id)
    targets, created = _targets(mailbox, body)
    _call(crm.link_email_to, mailbox.session, mailbox.tenant_id, mailbox.user, email, targets)
    return links_json(mailbox, email, created)


@bp.delete("/emails/<int:email_id>/links/<any(case,task,contact,company):target_type>/<int:target_id>")
@require_auth
@bp.response(200, EmailLinksSchema)
@bp.doc(security=SECURITY)
@not_found("email")
def unlink_email(email_id, target_type, target_id):
    """Remove one link of a filed email (the email stays filed)."""
    mailbox = current_mailbox()
    email = _email(mailbox, email_id)
    if not crm.unlink_email(mailbox.session, mailbox.tenant_id, email, target_type, target_id):
        raise ApiError(404, "link_not_found", "The email is not linked to that record.")
    return links_json(mailbox, email)


@bp.get("/emails/<int:email_id>/notes")
@require_auth
@bp.response(200, NoteListSchema)
@bp.doc(security=SECURITY)
@not_found("email")
def list_notes(email_id):
    """Notes on a filed email (everyone in the organisation sees them)."""
    mailbox = current_mailbox()
    notes = crm.list_notes(mailbox.session, mailbox.tenant_id, _email(mailbox, email_id))
    authors = crm.users_by_id(mailbox.session, mailbox.tenant_id, [n.author_id for n in notes])
    return {"notes": [note_json(mailbox, n, authors) for n in notes]}


@bp.post("/emails/<int:email_id>/notes")
@require_auth
@bp.arguments(NewNoteSchema)
@bp.response(201, NoteSchema)
@bp.doc(security=SECURITY)
@not_found("email")
def add_note(body, email_id):
    """Add a note to a filed email."""
    mailbox = current_mailbox()
    note = _call(crm.add_note, mailbox.session, mailbox.tenant_id, mailbox.user, _email(mailbox, email_id),
                 body["body"])
    return note_json(mailbox, note, {mailbox.user.id: mailbox.user})


@bp.delete("/notes/<int:note_id>")
@require_auth
@bp.response(204)
@bp.doc(security=SECURITY)
@not_found("note")
def delete_note(note_id):
    """Delete one of your notes."""
    mailbox = current_mailbox()
    _call(crm.delete_note, mailbox.session, mailbox.tenant_id, mailbox.user, note_id)


# -- conversations ----------------------------------------------------------------------

def _conversation_links(mailbox: Mailbox, conversation_id: str | None) -> list[dict]:
    links = sorted(ConversationLink.for_conversation(mailbox.session, mailbox.tenant_id, conversation_id),
                   key=lambda l: l.id)
    return [conversation_link_json(mailbox, l) for l in links]


@bp.get("/emails/<int:email_id>/conversation-links")
@require_auth
@bp.response(200, ConversationLinksSchema)
@bp.doc(security=SECURITY)
@not_found("email")
def conversation_links(email_id):
    """The links of a filed email's conversation."""
    mailbox = current_mailbox()
    email = _email(mailbox, email_id)
    return {"conversation_id": email.conversation_id,
            "links": _conversation_links(mailbox, email.conversation_id)}


@bp.post("/emails/<int:email_id>/conversation-links")
@require_auth
@bp.arguments(TargetsSchema)
@bp.response(200, ConversationLinksSchema)
@bp.doc(security=SECURITY)
@not_found("email")
def link_conversation(body, email_id):
    """Link a filed email's whole conversation (filed and future messages) to a case and/or task."""
    mailbox = current_mailbox()
    email = _email(mailbox, email_id)
    if not email.conversation_id:
        raise ApiError(400, "no_conversation", "This email does not belong to a conversation.")
    targets, created = _targets(mailbox, body)
    added = 0
    for target_type, target_id in targets:
        _, count = _call(crm.link_conversation, mailbox.session, mailbox.tenant_id, mailbox.user,
                         email.conversation_id, target_type, target_id)
        added += count
    body = {"conversation_id": email.conversation_id, "links": _conversation_links(mailbox, email.conversation_id),
            "linked_emails": added}
    if created:
        body["created"] = created
    return body


@bp.delete("/conversation-links/<int:link_id>")
@require_auth
@bp.response(204)
@bp.doc(security=SECURITY)
@not_found("conversation link")
def unlink_conversation(link_id):
    """Stop linking a conversation's future messages (filed ones keep their links)."""
    mailbox = current_mailbox()
    _call(crm.unlink_conversation, mailbox.session, mailbox.tenant_id, link_id)


# -- sharing rules ----------------------------------------------------------------------

@bp.get("/cases/<int:case_id>/sharing-rules")
@require_auth
@bp.response(200, SharingRuleListSchema)
@bp.doc(security=SECURITY)
@not_found("case")
def list_sharing_rules(case_id):
    """Every mailbox's sharing rules on a case."""
    mailbox = current_mailbox()
    rules = crm.sharing_rules_of_case(mailbox.session, mailbox.tenant_id, _case(mailbox, case_id))
    users = crm.users_by_id(mailbox.session, mailbox.tenant_id, [r.user_id for r in rules])
    return {"rules": [rule_json(mailbox, r, users) for r in rules], "warning": crm.SHARING_RULE_WARNING}


@bp.post("/cases/<int:case_id>/sharing-rules")
@require_auth
@bp.arguments(NewSharingRuleSchema)
@bp.response(201, SharingRuleCreatedSchema)
@bp.doc(security=SECURITY)
@not_found("case")
def add_sharing_rule(body, case_id):
    """File all new mail of your mailbox from/to an address to this case."""
    mailbox = current_mailbox()
    rule, created = _call(crm.add_sharing_rule, mailbox.session, mailbox.tenant_id, mailbox.user,
                          _case(mailbox, case_id), body["address"])
    return {"rule": rule_json(mailbox, rule, {mailbox.user.id: mailbox.user}), "created": created,
            "warning": crm.SHARING_RULE_WARNING}


@bp.delete("/cases/<int:case_id>/sharing-rules/<int:rule_id>")
@require_auth
@bp.response(204)
@bp.doc(security=SECURITY)
@not_found("sharing rule")
def delete_sharing_rule(case_id, rule_id):
    """Remove one of your sharing rules."""
    mailbox = current_mailbox()
    _call(crm.delete_sharing_rule, mailbox.session, mailbox.tenant_id, mailbox.user,
          _case(mailbox, case_id), rule_id)
